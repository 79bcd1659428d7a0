"""The customer 360: everything about a person in one read model, fed by contacts events."""
