"""Prometheus metrics of the routing service (no ids in labels: bounded cardinality)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

CONVERSATIONS = Gauge(
    "cc_routing_conversations",
    "Conversations by holder type (lara, agent, staff, queue) and status",
    ["holder_type", "status"],
)
CONVERSATIONS_OPENED = Counter(
    "cc_routing_conversations_opened_total", "Conversations opened, by channel", ["channel"]
)
ESCALATIONS = Counter(
    "cc_routing_escalations_total",
    "Escalations, by who escalated (lara, ivr, agent, staff)",
    ["by"],
)
REASSIGNMENTS = Counter(
    "cc_routing_reassignments_total",
    "Assignments and reassignments, by target type (agent, staff)",
    ["kind", "target"],
)
ACTIONS = Counter(
    "cc_routing_actions_total", "Conversation actions recorded, by action", ["action"]
)
INBOUND = Counter(
    "cc_routing_inbound_total", "Inbound events handled, by kind and outcome", ["kind", "outcome"]
)
FIRST_HUMAN_RESPONSE_SECONDS = Histogram(
    "cc_routing_first_human_response_seconds",
    "From the conversation's opening to the first message from an agent or staff",
    ["channel"],
    buckets=(5, 15, 30, 60, 120, 300, 600, 1800, 3600, 4 * 3600, 24 * 3600),
)
TIME_TO_CLOSE_SECONDS = Histogram(
    "cc_routing_time_to_close_seconds",
    "From the conversation's opening to its close",
    ["channel"],
    buckets=(30, 60, 300, 600, 1800, 3600, 4 * 3600, 24 * 3600, 7 * 24 * 3600),
)
SATISFACTION_ASKED = Counter(
    "cc_routing_satisfaction_asked_total",
    "Satisfaction questions sent when a person closed a conversation, by channel",
    ["channel"],
)
SATISFACTION_SCORE = Histogram(
    "cc_routing_satisfaction_score",
    "Scores customers gave (1-5) to the satisfaction question, by channel; _count: answers",
    ["channel"],
    buckets=(1, 2, 3, 4, 5),
)
FIRST_RESPONSE_MISSED = Counter(
    "cc_routing_first_response_missed_total",
    "Conversations whose first person reply came after the channel's first-response target "
    "(or never came by then), once per conversation, by channel",
    ["channel"],
)
FIRST_RESPONSE_DUE = Counter(
    "cc_routing_first_response_due_total",
    "Conversations that reached people on a channel with a first-response target, by channel",
    ["channel"],
)
