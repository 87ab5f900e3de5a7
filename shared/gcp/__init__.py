"""Foundation: Google Cloud clients created once per process, Secret Manager, Firestore recipes
(optimistic commits, create-once keys).
"""
