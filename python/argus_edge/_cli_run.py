"""``argus-edge run``: a bundle on images, folders and videos -> JSON lines + PNGs.

One JSON object per image (or video frame) goes to stdout, or to ``--jsonl FILE``:
``{"source": ..., "frame": ..., "height": ..., "width": ..., "tasks": {...}}``; an input
that cannot be read gives ``{"source": ..., "error": "..."}`` and the run goes on with the
next one (exit code 1 at the end). Visualizations go to ``--out`` (one PNG per image;
for a video, an annotated MP4 when OpenCV can write one, else one PNG per frame).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from ._errors import ArgusError, ImageError

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm")
VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg")


def add_run_arguments(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    p.add_argument("bundle", help="the .engine bundle")
    p.add_argument("inputs", nargs="+", metavar="INPUT",
                   help="image files, folders (searched recursively for images) or videos")
    p.add_argument("--tasks", nargs="+", help="tasks to run (default: all in the bundle)")
    p.add_argument("--backend", default="auto",
                   help="auto or a backend name (argus_edge.backends: openvino, onnxruntime, "
                        "...; default: auto)")
    p.add_argument("--device", default="CPU", help="OpenVINO device (default: CPU)")
    p.add_argument("--threads", type=int, help="inference threads (default: the engine's)")
    p.add_argument("--precision",
                   help="fp32, fp16, int8 (the bundle's variants of that precision) or bf16 "
                        "(fp32 variants, bf16 compute); default: the most precise in the "
                        "bundle, run exactly")
    p.add_argument("--score-threshold", type=float,
                   help="score threshold of the tasks that have one (default: the bundle's)")
    p.add_argument("--accept-failed-gate", action="store_true",
                   help="run INT8 variants that failed their accuracy gate (refused by "
                        "default; `argus-edge info` shows the gate)")
    p.add_argument("--out", type=Path, help="folder for the visualizations (default: none)")
    p.add_argument("--jsonl", type=Path, help="write the JSON lines here instead of stdout")
    p.add_argument("--maps", action="store_true",
                   help="include dense maps (masks, seg labels, depth) in the JSON")
    p.add_argument("--draw-threshold", type=float, default=0.3,
                   help="boxes below this score are not drawn (default 0.3)")
    p.add_argument("--quiet", action="store_true", help="no progress on stderr")
    return p


def _expand(inputs: list[str]) -> Iterator[Path]:
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
            if not found:
                print(f"argus-edge run: no images in folder {item}", file=sys.stderr)
            yield from found
        else:
            yield path


class _Progress:
    def __init__(self, quiet: bool) -> None:
        self.quiet, self.count, self.start = quiet, 0, time.perf_counter()
        self.tty = sys.stderr.isatty()

    def step(self, label: str) -> None:
        self.count += 1
        if self.quiet:
            return
        rate = self.count / max(time.perf_counter() - self.start, 1e-9)
        line = f"[{self.count}] {rate:.1f} img/s {label}"
        if self.tty:
            print(f"\r{line[:100]:<100}", end="", file=sys.stderr, flush=True)
        elif self.count % 25 == 1:
            print(line, file=sys.stderr)

    def done(self) -> None:
        if not self.quiet and self.tty:
            print(file=sys.stderr)


def _png_name(path: Path, out: Path, used: set[str]) -> Path:
    stem = path.stem
    name, k = f"{stem}.png", 1
    while name in used:
        k += 1
        name = f"{stem}_{k}.png"
    used.add(name)
    return out / name


def run_command(args: argparse.Namespace) -> int:
    from .session import Session
    session = Session(args.bundle, backend=args.backend, device=args.device,
                      threads=args.threads, precision=args.precision,
                      score_threshold=args.score_threshold,
                      accept_failed_gate=args.accept_failed_gate)
    if session.info["failed_gate"]:
        print(f"warning: {session.info['failed_gate']} (accepted)", file=sys.stderr)
    if not args.quiet:
        print(f"argus-edge run: {session.info['model']} on {session.backend} "
              f"({session.precision}, {args.device}); tasks "
              f"{args.tasks or session.tasks}", file=sys.stderr)
    tasks = session.check_tasks(args.tasks)  # fail before any input
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
    sink: IO[str] = args.jsonl.open("w") if args.jsonl else sys.stdout
    failures, used, progress = 0, set(), _Progress(args.quiet)
    try:
        for path in _expand(args.inputs):
            if path.suffix.lower() in VIDEO_SUFFIXES:
                failures += _run_video(session, path, tasks, args, sink, progress)
                continue
            record: dict[str, Any] = {"source": str(path)}
            try:
                result = session.run(path, tasks=tasks)
            except ImageError as e:
                failures += 1
                record["error"] = str(e)
                print(f"argus-edge run: {e}", file=sys.stderr)
            else:
                record.update(result.to_dict(maps=args.maps))
                if args.out:
                    result.draw(score_threshold=args.draw_threshold).save(
                        _png_name(path, args.out, used))
            sink.write(json.dumps(record) + "\n")
            progress.step(path.name)
    finally:
        progress.done()
        if args.jsonl:
            sink.close()
        else:
            sink.flush()
    return 1 if failures else 0


def _run_video(session, path: Path, tasks: list[str], args: argparse.Namespace,
               sink: IO[str], progress: _Progress) -> int:
    writer = None
    frames_dir = None
    try:
        for i, result in enumerate(session.stream(path, tasks=tasks)):
            record = {"source": str(path), "frame": i, **result.to_dict(maps=args.maps)}
            sink.write(json.dumps(record) + "\n")
            if args.out:
                image = result.draw(score_threshold=args.draw_threshold)
                writer, frames_dir = _write_frame(image, path, i, args.out, writer, frames_dir)
            progress.step(f"{path.name}#{i}")
    except (ArgusError, OSError) as e:
        sink.write(json.dumps({"source": str(path), "error": str(e)}) + "\n")
        print(f"argus-edge run: {e}", file=sys.stderr)
        return 1
    finally:
        if writer is not None:
            writer.release()
    return 0


def _write_frame(image, path: Path, index: int, out: Path, writer, frames_dir):
    import numpy as np
    frame = np.asarray(image)
    if writer is None and frames_dir is None:
        try:
            import cv2
            target = out / f"{path.stem}.mp4"
            writer = cv2.VideoWriter(str(target), cv2.VideoWriter_fourcc(*"mp4v"), 10.0,
                                     (frame.shape[1], frame.shape[0]))
            if not writer.isOpened():
                writer = None
        except ImportError:
            writer = None
        if writer is None:
            frames_dir = out / path.stem
            frames_dir.mkdir(parents=True, exist_ok=True)
    if writer is not None:
        writer.write(np.ascontiguousarray(frame[..., ::-1]))
    else:
        image.save(frames_dir / f"{index:06d}.png")
    return writer, frames_dir
