"""Common kit for the four services: settings, database and unit of work, outbox/inbox eventing,
errors, auth, audit and observability. Business rules of one service never live here."""
