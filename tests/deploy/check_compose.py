"""Checks deploy/compose/compose.yaml without a container engine: it parses,
every file it mounts or builds from exists in the repository, every image is
pinned or built here, the ports and host names the services use to reach
each other are the ones the others listen on, the topics get the partition
counts of deploy/kafka/topics.yaml, and the Prometheus and Grafana
provisioning files point at what the stack has."""
import re

from deploy_files import ROOT, fail, finish, load_yaml, subcommands, topic_partitions

compose_dir = ROOT / "deploy/compose"
c = load_yaml(compose_dir / "compose.yaml")
services = c.get("services", {})

for name in ["kafka-topics", "postgres", "migrate", "worker", "prometheus", "grafana"]:
    if name not in services:
        fail(f"service {name} missing")
kafkas = sorted(n for n in services if re.fullmatch(r"kafka-\d+", n))
if len(kafkas) not in (1, 3):
    fail(f"expected one or three Kafka brokers, found {kafkas}")

# Images: built from this repository, or pinned to a version.
built = {}
for name, s in services.items():
    image = s.get("image")
    if not image:
        fail(f"{name}: no image")
        continue
    if "build" in s:
        b = s["build"]
        ctx = (compose_dir / b["context"]).resolve()
        if not ctx.is_dir():
            fail(f"{name}: build context {b['context']} does not exist")
        if not (ctx / b.get("dockerfile", "Dockerfile")).is_file():
            fail(f"{name}: dockerfile {b.get('dockerfile')} does not exist")
        built[image] = name
for name, s in services.items():
    image = s.get("image", "")
    if image in built:
        continue
    tag = image.rsplit(":", 1)[1] if ":" in image else ""
    if not tag or tag == "latest" or not re.match(r"v?\d", tag):
        fail(f"{name}: image {image} is neither built here nor pinned to a version")
    if image.split(":")[0] in {i.split(":")[0] for i in built}:
        fail(f"{name}: image {image} looks like the local build but is not built by any service")

# Files mounted from the repository exist.
mounts = {}
for name, s in services.items():
    for v in s.get("volumes", []):
        src, dst = v.split(":")[0], v.split(":")[1]
        if src.startswith("."):
            if not (compose_dir / src).exists():
                fail(f"{name}: mounts {src}, which does not exist")
            mounts[(name, dst)] = (compose_dir / src).resolve()
        elif src not in (c.get("volumes") or {}):
            fail(f"{name}: volume {src} is not declared")

# The hubworker services run real subcommands.
commands = subcommands()
for name, s in services.items():
    if s.get("image") in built:
        cmd = s.get("command") or ["run"]
        if cmd[0] not in commands:
            fail(f"{name}: hubworker has no subcommand {cmd[0]} (worker/cli.cpp: {sorted(commands)})")

# Kafka: KRaft, every broker a voter, listeners as the clients use them.
if kafkas:
    env0 = services[kafkas[0]]["environment"]
    voters = env0.get("KAFKA_CONTROLLER_QUORUM_VOTERS", "")
    for k in kafkas:
        env = services[k]["environment"]
        if "broker" not in env.get("KAFKA_PROCESS_ROLES", "") or "controller" not in env.get("KAFKA_PROCESS_ROLES", ""):
            fail(f"{k}: not a KRaft broker+controller")
        if f"{env.get('KAFKA_NODE_ID')}@{k}:9093" not in voters:
            fail(f"{k}: not among the quorum voters {voters}")
        if env.get("KAFKA_ADVERTISED_LISTENERS") != f"PLAINTEXT://{k}:9092":
            fail(f"{k}: advertised listener is not PLAINTEXT://{k}:9092")
        if env.get("CLUSTER_ID") != env0.get("CLUSTER_ID"):
            fail(f"{k}: another CLUSTER_ID")
        if int(env.get("KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR", 1)) > len(kafkas):
            fail(f"{k}: offsets topic replication above the number of brokers")
bootstrap = ",".join(f"{k}:9092" for k in kafkas)

# Topics: deploy/kafka/create-topics.sh with the partitions of topics.yaml.
t = services.get("kafka-topics", {})
tenv = t.get("environment", {})
if mounts.get(("kafka-topics", t.get("entrypoint", ["", ""])[-1])) != (ROOT / "deploy/kafka/create-topics.sh"):
    fail("kafka-topics: does not run the mounted deploy/kafka/create-topics.sh")
parts = set(topic_partitions().values())
if len(parts) != 1 or str(parts.pop() if parts else None) != str(tenv.get("PARTITIONS")):
    fail(f"kafka-topics: PARTITIONS={tenv.get('PARTITIONS')}, deploy/kafka/topics.yaml has {topic_partitions()}")
if int(tenv.get("REPLICATION", 0)) > len(kafkas) or int(tenv.get("MIN_ISR", 0)) > int(tenv.get("REPLICATION", 0)):
    fail("kafka-topics: replication above the brokers, or min ISR above the replication")
if tenv.get("BOOTSTRAP") != bootstrap:
    fail(f"kafka-topics: BOOTSTRAP {tenv.get('BOOTSTRAP')} is not {bootstrap}")
if not tenv.get("KAFKA_TOPICS", "").startswith("/opt/kafka/bin/"):
    fail("kafka-topics: KAFKA_TOPICS must be the image's /opt/kafka/bin/kafka-topics.sh")

# PostgreSQL: the roles of the init script, as in HUB_DATABASE_URL: migrate as
# the database's owner, the workers as another role (row access only).
init = mounts.get(("postgres", "/docker-entrypoint-initdb.d/10-hub.sql"))
url_re = re.compile(r"postgresql://(\w+):(\w+)@postgres:5432/(\w+)$")
roles = {}
for name in ["migrate", "worker"]:
    url = services.get(name, {}).get("environment", {}).get("HUB_DATABASE_URL", "")
    m = url_re.match(url)
    if not m:
        fail(f"{name}: HUB_DATABASE_URL {url} does not point at postgres:5432")
        continue
    roles[name] = m
    if init is None or f"CREATE ROLE {m.group(1)} LOGIN PASSWORD '{m.group(2)}' NOSUPERUSER NOBYPASSRLS" not in init.read_text():
        fail(f"{name}: the role of HUB_DATABASE_URL is not created (NOSUPERUSER NOBYPASSRLS) by postgres-init.sql")
if "migrate" in roles and "worker" in roles:
    owner, worker = roles["migrate"], roles["worker"]
    if init is not None and f"CREATE DATABASE {owner.group(3)} OWNER {owner.group(1)}" not in init.read_text():
        fail("migrate: its role does not own the database in postgres-init.sql")
    if worker.group(1) != "hub_worker" or worker.group(1) == owner.group(1):
        fail("worker: must run as hub_worker (the role migrations grant row access), not as the schema owner")
    if worker.group(3) != owner.group(3):
        fail("worker and migrate name different databases")

# Workers: brokers, listening port, started after migrate and the topics.
w = services.get("worker", {})
wenv = w.get("environment", {})
if wenv.get("HUB_KAFKA_BROKERS") != bootstrap:
    fail(f"worker: HUB_KAFKA_BROKERS {wenv.get('HUB_KAFKA_BROKERS')} is not {bootstrap}")
port = wenv.get("HUB_HTTP_ADDR", "").rsplit(":", 1)[-1]
if not wenv.get("HUB_HTTP_ADDR", "").startswith("0.0.0.0:"):
    fail("worker: HUB_HTTP_ADDR must listen on all interfaces for Prometheus")
if (w.get("deploy") or {}).get("replicas") != 3:
    fail("worker: expected three replicas")
for dep, cond in [("migrate", "service_completed_successfully"), ("kafka-topics", "service_completed_successfully")]:
    if (w.get("depends_on") or {}).get(dep, {}).get("condition") != cond:
        fail(f"worker: must wait for {dep} ({cond})")
if str(port) not in [str(p) for p in w.get("expose", [])]:
    fail(f"worker: does not expose its HTTP port {port}")

# Prometheus: scrapes the worker service on that port, loads the alert rules.
prom = mounts.get(("prometheus", "/etc/prometheus/prometheus.yml"))
if prom is None:
    fail("prometheus: no configuration mounted")
else:
    pc = load_yaml(prom)
    jobs = {j["job_name"]: j for j in pc.get("scrape_configs", [])}
    sd = (jobs.get("hubworker", {}).get("dns_sd_configs") or [{}])[0]
    if "worker" not in sd.get("names", []) or str(sd.get("port")) != str(port):
        fail(f"prometheus: job hubworker does not scrape worker:{port}")
    for rf in pc.get("rule_files", []):
        if ("prometheus", f"/etc/prometheus/{rf}") not in mounts:
            fail(f"prometheus: rule file {rf} is not mounted next to the configuration")
    listen = [a for a in services["prometheus"].get("command", []) if a.startswith("--web.listen-address=")]
    prom_port = listen[0].rsplit(":", 1)[-1] if listen else "9090"

# Grafana: the data source is the stack's Prometheus; the dashboard is where
# the provider looks.
ds = mounts.get(("grafana", "/etc/grafana/provisioning/datasources/hubworker.yaml"))
dash = mounts.get(("grafana", "/etc/grafana/provisioning/dashboards/hubworker.yaml"))
if ds is None or dash is None:
    fail("grafana: data source or dashboard provider not provisioned")
else:
    urls = [d.get("url") for d in load_yaml(ds).get("datasources", []) if d.get("type") == "prometheus"]
    if prom is not None and urls != [f"http://prometheus:{prom_port}"]:
        fail(f"grafana: data source {urls} is not http://prometheus:{prom_port}")
    path = load_yaml(dash)["providers"][0]["options"]["path"]
    boards = [dst for (svc, dst), src in mounts.items()
              if svc == "grafana" and src == ROOT / "deploy/grafana/hubworker-dashboard.json"]
    if not boards or not all(b.startswith(path.rstrip("/") + "/") for b in boards):
        fail(f"grafana: the dashboard is not mounted under the provider's path {path}")

finish("deploy/compose/compose.yaml")
