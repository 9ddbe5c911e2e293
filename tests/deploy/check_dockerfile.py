"""Checks deploy/docker/Dockerfile without building it: every COPY source from
the build context exists, every source folder the root CMakeLists.txt builds
is copied into the build stage, and the port it exposes is the one of its
HUB_HTTP_ADDR."""
import re

from deploy_files import ROOT, fail, finish

dockerfile = ROOT / "deploy/docker/Dockerfile"
lines = dockerfile.read_text().splitlines()
copied = set()
stages = set()
for line in lines:
    m = re.match(r"FROM\s+(\S+)(?:\s+AS\s+(\S+))?", line, re.I)
    if m:
        if ":" not in m.group(1) or m.group(1).endswith(":latest"):
            fail(f"Dockerfile: base image {m.group(1)} is not pinned to a version")
        if m.group(2):
            stages.add(m.group(2))
        continue
    m = re.match(r"COPY\s+(.*)", line)
    if not m:
        continue
    args = m.group(1).split()
    if any(a.startswith("--from=") for a in args):
        stage = next(a for a in args if a.startswith("--from="))[7:]
        if stage not in stages:
            fail(f"Dockerfile: COPY --from={stage}: no such stage")
        continue
    for src in [a for a in args if not a.startswith("--")][:-1]:
        if not (ROOT / src).exists():
            fail(f"Dockerfile: COPY {src}: not in the repository")
        copied.add(src.rstrip("/"))

cmake = (ROOT / "CMakeLists.txt").read_text()
def is_copied(folder):
    parts = folder.split("/")
    return any("/".join(parts[:i]) in copied for i in range(1, len(parts) + 1))


for folder in re.findall(r"^hub_library\(\s*\S+\s+(\S+)", cmake, re.M):
    if not is_copied(folder):
        fail(f"Dockerfile: source folder {folder}/ (CMakeLists.txt hub_library) is not copied into the build")
for folder in re.findall(r"^add_subdirectory\((\S+)\)", cmake, re.M):
    if not is_copied(folder):
        fail(f"Dockerfile: {folder}/ (CMakeLists.txt add_subdirectory) is not copied into the build")

addr = re.search(r"^ENV HUB_HTTP_ADDR=\S+:(\d+)$", "\n".join(lines), re.M)
expose = re.search(r"^EXPOSE (\d+)$", "\n".join(lines), re.M)
if not addr or not expose or addr.group(1) != expose.group(1):
    fail("Dockerfile: EXPOSE must be the port of HUB_HTTP_ADDR")
finish("deploy/docker/Dockerfile")
