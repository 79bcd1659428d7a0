"""Products and price books: what the company sells, and at which prices."""
