"""Checks deploy/k8s/keda-scaledobject.example.yaml without a cluster: it
targets the Deployment of deploy/k8s, has one Kafka trigger per handled input
topic with the group and brokers of the ConfigMap and a lag threshold, its
maximum is at most the partition count of those topics, its minimum is not
zero, and it is not in the kustomization next to hpa.yaml."""
from deploy_files import ROOT, config_map, fail, finish, handled_input_types, load_yaml, load_yaml_all, topic_partitions

so = load_yaml(ROOT / "deploy/k8s/keda-scaledobject.example.yaml")
deployment = load_yaml(ROOT / "deploy/k8s/deployment.yaml")
cm = config_map()
partitions = topic_partitions()

if so.get("apiVersion") != "keda.sh/v1alpha1" or so.get("kind") != "ScaledObject":
    fail("not a keda.sh/v1alpha1 ScaledObject")
spec = so.get("spec", {})
# Field names KEDA 2.x knows (a misspelt one is silently ignored by the cluster).
SPEC_KEYS = {"scaleTargetRef", "pollingInterval", "cooldownPeriod", "initialCooldownPeriod", "idleReplicaCount",
             "minReplicaCount", "maxReplicaCount", "fallback", "advanced", "triggers"}
KAFKA_KEYS = {"bootstrapServers", "consumerGroup", "topic", "lagThreshold", "activationLagThreshold",
              "offsetResetPolicy", "allowIdleConsumers", "scaleToZeroOnInvalidOffset", "excludePersistentLag",
              "version", "partitionLimitation", "limitToPartitionsWithLag", "sasl", "tls", "unsafeSsl"}
for k in set(spec) - SPEC_KEYS:
    fail(f"spec.{k}: not a ScaledObject field")
ref = spec.get("scaleTargetRef", {})
if ref.get("kind", "Deployment") != "Deployment" or ref.get("name") != deployment["metadata"]["name"]:
    fail(f"scaleTargetRef {ref} is not the Deployment {deployment['metadata']['name']}")

prefix = cm.get("HUB_TOPIC_PREFIX", "hub.")
inputs = {prefix + t for t in handled_input_types()}
if not inputs:
    fail("README lists no handled input type")
triggers = spec.get("triggers", [])
topics = set()
for t in triggers:
    md = t.get("metadata", {})
    if t.get("type") != "kafka":
        fail(f"trigger {t.get('type')}: expected kafka")
        continue
    topics.add(md.get("topic"))
    for k in set(md) - KAFKA_KEYS:
        fail(f"trigger {md.get('topic')}: {k} is not a Kafka scaler parameter")
    if md.get("consumerGroup") != cm["HUB_KAFKA_GROUP"]:
        fail(f"trigger {md.get('topic')}: consumerGroup {md.get('consumerGroup')} is not HUB_KAFKA_GROUP")
    if md.get("bootstrapServers") != cm["HUB_KAFKA_BROKERS"]:
        fail(f"trigger {md.get('topic')}: bootstrapServers is not HUB_KAFKA_BROKERS")
    if not str(md.get("lagThreshold", "")).isdigit() or int(md["lagThreshold"]) <= 0:
        fail(f"trigger {md.get('topic')}: lagThreshold must be a positive integer")
    if md.get("offsetResetPolicy") != "earliest":
        fail(f"trigger {md.get('topic')}: offsetResetPolicy must be earliest, as the worker's auto.offset.reset")
if topics != inputs:
    fail(f"triggers cover {sorted(topics)}, the handled input topics are {sorted(inputs)}")
missing = [t for t in inputs if t not in partitions]
if missing:
    fail(f"input topics {missing} are not in deploy/kafka/topics.yaml")
elif spec.get("maxReplicaCount", 100) > min(partitions[t] for t in inputs):
    fail(f"maxReplicaCount {spec.get('maxReplicaCount')} is above the input topics' partitions")
if spec.get("minReplicaCount", 0) < 1:
    fail("minReplicaCount must be at least 1: the outbox relay and the step runner run in the worker")

kustomization = load_yaml(ROOT / "deploy/k8s/kustomization.yaml")
if "keda-scaledobject.example.yaml" in kustomization.get("resources", []):
    fail("the ScaledObject must not be in the kustomization together with hpa.yaml")
finish("deploy/k8s/keda-scaledobject.example.yaml")
