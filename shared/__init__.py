"""The platform's common library: settings, errors, HTTP edge, logging, storage and events.
Modules import their heavy dependencies (Firestore, Pub/Sub, anthropic) lazily so that an entry
point pays at cold start only for what it uses.
"""
