"""CRM records: any aggregate with an owner and a department (a contact, an account, a
lead, a ticket). What every one of them shares lives here: its events' shapes, the base
aggregate, the commands that create, change, archive, restore and reassign one or log an
interaction or a consent, the application that runs those commands, and their routes."""
