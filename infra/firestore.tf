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
