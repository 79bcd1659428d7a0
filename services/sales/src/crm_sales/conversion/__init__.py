"""Converting a lead: the contact (and the account) in the contacts service over HTTP, the
opportunity in sales, and ``LeadConverted`` naming all three, exactly once
(``use_case``); the contacts service reached with a credential acting for the user who
converts (``contacts_client``).

Why it is exactly once, whatever fails or repeats:

- the contacts service is asked with ``Idempotency-Key``\\ s derived from the lead's id
  (``lead-conversion:<lead>:contact``): a retry replays the first answer;
- the opportunity's id is derived from the lead's (``opportunity_id_of``): a retry finds it
  opened already;
- ``LeadConverted`` is recorded last: until it is, every step may run again and finds its
  work done; once it is, a conversion answers the lead's links (200) and calls nothing.
"""
