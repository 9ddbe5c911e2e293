"""Shared helpers of the deploy checks (no container engine or cluster needed)."""
import pathlib
import re
import sys

import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
problems = []


def fail(msg):
    problems.append(msg)


def finish(what):
    if problems:
        for p in problems:
            print(f"FAIL: {p}", file=sys.stderr)
        sys.exit(1)
    print(f"{what}: ok")


def load_yaml(path):
    with open(path) as f:
        return yaml.safe_load(f)


def load_yaml_all(path):
    with open(path) as f:
        return [d for d in yaml.safe_load_all(f) if d]


def topic_partitions():
    """topicName -> partitions of deploy/kafka/topics.yaml."""
    return {d["spec"]["topicName"]: d["spec"]["partitions"]
            for d in load_yaml_all(ROOT / "deploy/kafka/topics.yaml") if d.get("kind") == "KafkaTopic"}


def handled_input_types():
    """Input event types the README's event table marks as handled."""
    text = (ROOT / "README.md").read_text()
    return [m.group(1) for m in re.finditer(r"^\| `([a-z.]+)` \|[^\n]*\| yes \|$", text, re.M)]


def subcommands():
    """The subcommands worker/cli.cpp defines."""
    return set(re.findall(r'^\s*\{"([a-z]+)", "', (ROOT / "worker/cli.cpp").read_text(), re.M))


def config_map():
    return load_yaml(ROOT / "deploy/k8s/configmap.yaml")["data"]
