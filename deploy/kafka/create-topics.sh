#!/usr/bin/env bash
# Creates the contract topics (README.md "Event types") with Apache Kafka's
# kafka-topics.sh, for clusters not managed by Strimzi (deploy/kafka/topics.yaml).
# Idempotent: existing topics are left as they are.
#
#   BOOTSTRAP=kafka-1:9092 ./create-topics.sh
#   BOOTSTRAP=... COMMAND_CONFIG=client.properties ./create-topics.sh   # SASL/TLS
#
# Settings (environment):
#   BOOTSTRAP       bootstrap servers (required)
#   PREFIX          topic prefix, as HUB_TOPIC_PREFIX                 [hub.]
#   PARTITIONS      partitions per topic                              [12]
#   REPLICATION     replication factor                                [3]
#   MIN_ISR         min.insync.replicas                               [2]
#   RETENTION_DAYS  retention of every topic but the dead letters     [7]
#   DLQ_RETENTION_DAYS  retention of <prefix>deadletter               [30]
#   COMMAND_CONFIG  client properties file passed as --command-config [none]
#   KAFKA_TOPICS    the kafka-topics tool                             [kafka-topics.sh]
set -euo pipefail

: "${BOOTSTRAP:?set BOOTSTRAP to the Kafka bootstrap servers}"
PREFIX="${PREFIX-hub.}"
PARTITIONS="${PARTITIONS:-12}"
REPLICATION="${REPLICATION:-3}"
MIN_ISR="${MIN_ISR:-2}"
RETENTION_DAYS="${RETENTION_DAYS:-7}"
DLQ_RETENTION_DAYS="${DLQ_RETENTION_DAYS:-30}"
KAFKA_TOPICS="${KAFKA_TOPICS:-kafka-topics.sh}"

extra=()
if [[ -n "${COMMAND_CONFIG:-}" ]]; then
  extra+=(--command-config "$COMMAND_CONFIG")
fi

topics=(
  workflow.triggered order.submitted integration.webhook
  workflow.completed order.milestone order.completed integration.processed
  deadletter
)

for t in "${topics[@]}"; do
  days="$RETENTION_DAYS"
  if [[ "$t" == deadletter ]]; then days="$DLQ_RETENTION_DAYS"; fi
  echo "creating ${PREFIX}${t} (partitions=${PARTITIONS}, replication=${REPLICATION}, retention=${days}d)"
  "$KAFKA_TOPICS" --bootstrap-server "$BOOTSTRAP" "${extra[@]}" --create --if-not-exists \
    --topic "${PREFIX}${t}" \
    --partitions "$PARTITIONS" \
    --replication-factor "$REPLICATION" \
    --config cleanup.policy=delete \
    --config "retention.ms=$((days * 86400000))" \
    --config "min.insync.replicas=${MIN_ISR}"
done
