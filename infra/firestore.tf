# What Firestore needs beyond the database: TTL policies and composite indexes.
# tests/infra/test_firestore_indexes.py scans shared/ and functions/ for queries that
# combine a filter with an order on another field and fails when the index is missing here.

locals {
  # Collection => the timestamp field that says when a document may be deleted: every
  # collection the code writes with `expiresAt` (tests/infra/test_firestore_ttl.py finds
  # them). `outbox` has none on purpose: a staged event is deleted once Pub/Sub has it.
  firestore_ttl_fields = {
    alert_counters     = "expiresAt"
    alerts             = "expiresAt"
    notifications      = "expiresAt"
    processed_events   = "expiresAt"
    quotas             = "expiresAt"
    sessions           = "expiresAt"
    silences           = "expiresAt"
    webhook_deliveries = "expiresAt"
    idempotency_keys   = "expiresAt"
    # Spend meters (shared/limits/spend.py): a window's document a day after it closes.
    limits = "expiresAt"
    # A guest's data: the session's expiry + GUEST_DATA_RETENTION_DAYS
    # (shared/identity/retention.py); the sweep erases what predates the field.
    agents        = "expiresAt"
    agent_totals  = "expiresAt"
    conversations = "expiresAt"
    messages      = "expiresAt"
  }

  # Rising fields (timestamps) that requests write and no query reads on its own: a
  # single-field index on one takes every write at the end of one range, about 500
  # writes/s at most (docs/capacity.md, `make capacity`). Exempted from indexing; composite
  # indexes are unaffected. tests/infra/test_firestore_exemptions.py fails when a query in
  # the code needs one of these single-field indexes.
  firestore_index_exemptions = {
    limits             = ["updatedAt"]
    quotas             = ["updatedAt", "windowStart"]
    sessions           = ["createdAt"]
    conversations      = ["updatedAt"]
    idempotency_keys   = ["createdAt", "leaseUntil"]
    processed_events   = ["at"]
    agents             = ["updatedAt"]
    alert_groups       = ["updatedAt"]
    webhook_deliveries = ["receivedAt"]
  }

  # TTL fields are rising too, and TTL needs no index: every TTL field is exempted from
  # indexing except these, which a query reads (the sweep of expired guests queries
  # agents by expiresAt, shared/chat/sweeps.py).
  firestore_ttl_fields_indexed = ["agents"]

  # Fields in query order: equality filters, then the order_by fields, then __name__
  # (the tie-breaker the cursor pagination orders by).
  firestore_indexes = {
    agents_by_owner_newest_first = {
      collection = "agents"
      fields = [
        { field_path = "userId", order = "ASCENDING" },
        { field_path = "createdAt", order = "DESCENDING" },
        { field_path = "__name__", order = "DESCENDING" },
      ]
    }
    conversations_by_owner_and_agent_recent_first = {
      collection = "conversations"
      fields = [
        { field_path = "userId", order = "ASCENDING" },
        { field_path = "agentId", order = "ASCENDING" },
        { field_path = "updatedAt", order = "DESCENDING" },
      ]
    }
    loadtest_runs_by_scenario_newest_first = {
      collection = "loadtest_runs"
      fields = [
        { field_path = "scenario", order = "ASCENDING" },
        { field_path = "startedAt", order = "DESCENDING" },
      ]
    }
    alerts_by_status_recent_first = {
      collection = "alerts"
      fields = [
        { field_path = "status", order = "ASCENDING" },
        { field_path = "lastSeenAt", order = "DESCENDING" },
      ]
    }
    # The sweep of abandoned answers (shared/chat/sweeps.py): a collection-group query
    # over every conversation's messages.
    messages_pending_since = {
      collection  = "messages"
      query_scope = "COLLECTION_GROUP"
      fields = [
        { field_path = "status", order = "ASCENDING" },
        { field_path = "createdAt", order = "ASCENDING" },
      ]
    }
    notifications_of_an_alert_newest_first = {
      collection = "notifications"
      fields = [
        { field_path = "fingerprints", array_config = "CONTAINS" },
        { field_path = "sentAt", order = "DESCENDING" },
      ]
    }
  }
}
