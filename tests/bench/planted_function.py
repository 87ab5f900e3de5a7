"""A bare function for the counting test: one session read per request, and one read more
when PLANT_EXTRA_READ is set (the planted read the cost figures must see)."""

from __future__ import annotations

import os

import functions_framework
from google.cloud import firestore

db = firestore.Client()


@functions_framework.http
def planted(request: object) -> tuple[str, int]:
    db.collection("sessions").document("planted-a").get()
    if os.environ.get("PLANT_EXTRA_READ"):
        db.collection("sessions").document("planted-b").get()
    return "{}", 200
