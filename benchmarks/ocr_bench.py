"""OCR benchmark: accuracy and speed of RapidOCR (the service's engine) and Tesseract chi_sim.

Generates pages of Chinese business text with their ground truth — contract clauses,
company names, 18-character credit codes, amounts, dates — drawn in Noto Sans CJK SC at
150 and 300 dpi, then degraded as a scanner or a phone would (skew within ±2°, a light
blur, noise, JPEG compression). A "page" is a block of 8 lines, 14 cm wide (10.5 pt).

Prints per engine and resolution: character error rate (edit distance over the truth's
characters, whitespace removed, both sides NFKC-folded so full- and half-width punctuation
count as one), per-line exact match (a truth line equal to one recognised line) and pages/s.
RapidOCR runs as the service runs it: in the sandboxed child (search/sandbox.py), the
engine loaded once per child, one thread; two children (one per resolution) run at once on
the machine's two cores, and each reports its peak RSS. Tesseract (if ``tesseract`` with
``chi_sim`` is installed; never needed by the tests) runs one process per page, one thread.

    python benchmarks/ocr_bench.py [--pages 40] [--seed 7]
"""

# ruff: noqa: S311, S603, S607 - seeded pseudo-random pages; tesseract found on PATH
from __future__ import annotations

import argparse
import importlib
import io
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import unicodedata
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

NOTO = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"
COMPANIES = [
    "上海恒泰隆贸易有限公司",
    "华夏精密机械股份有限公司",
    "北京中科远景信息技术有限公司",
    "深圳市鹏程新能源科技有限公司",
    "杭州西湖丝绸进出口有限公司",
    "广州珠江物流集团有限公司",
]
CLAUSES = [
    "甲方应于合同签订后十个工作日内支付预付款",
    "乙方保证所供货物符合国家标准及行业规范",
    "双方因履行本合同发生争议的应协商解决",
    "协商不成的任何一方可向甲方所在地人民法院起诉",
    "本合同自双方签字盖章之日起生效",
    "质保期为货物验收合格之日起十二个月",
    "逾期交货的每日按合同总价的千分之三支付违约金",
    "付款方式为银行转账，开户行为中国工商银行上海分行",
    "乙方须提供增值税专用发票，税率为百分之十三",
    "未经对方书面同意任何一方不得转让本合同",
]
_CODE_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def credit_code(rng: random.Random) -> str:
    return "91" + "".join(rng.choice(_CODE_CHARS) for _ in range(16))


def page_lines(rng: random.Random) -> list[str]:
    amount = rng.randint(10_000, 9_999_999)
    year, month, day = rng.randint(2015, 2026), rng.randint(1, 12), rng.randint(1, 28)
    lines = [
        f"合同编号：HT-{year}-{rng.randint(1, 999):03d}",
        f"甲方：{rng.choice(COMPANIES)}",
        f"统一社会信用代码：{credit_code(rng)}",
        f"合同金额：人民币{amount:,}.00元",
        f"签订日期：{year}年{month}月{day}日",
    ]
    lines += rng.sample(CLAUSES, 3)
    return lines


def draw(lines: list[str], dpi: int, rng: random.Random) -> bytes:
    """The page as a degraded JPEG at ``dpi``."""
    import numpy as np
    from PIL import Image, ImageDraw, ImageFilter, ImageFont

    px = dpi / 72  # pixels per point
    size = round(10.5 * px)
    font = ImageFont.truetype(NOTO, size, index=2)
    width = round(14 / 2.54 * dpi)
    image = Image.new("L", (width, round(len(lines) * size * 1.8 + 4 * size)), 255)
    pen = ImageDraw.Draw(image)
    for number, line in enumerate(lines):
        pen.text((size, size * (1.5 + number * 1.8)), line, font=font, fill=rng.randint(0, 60))
    image = image.rotate(rng.uniform(-2, 2), resample=Image.Resampling.BICUBIC, fillcolor=255)
    image = image.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 0.8) * dpi / 150))
    pixels = np.asarray(image, dtype=np.float32) + np.random.default_rng(
        rng.randint(0, 1 << 30)
    ).normal(0, 10, image.size[::-1])
    image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=rng.randint(55, 75), dpi=(dpi, dpi))
    return out.getvalue()


# --------------------------------------------------------------------------- in the child


def ocr_files(paths: list[str]) -> tuple[list[str], float, int]:
    """Runs in the sandboxed child: each page's text, the seconds spent reading them (the
    engine loaded before the clock starts) and the child's peak RSS in KiB."""
    import resource

    from PIL import Image

    from search.ocr import engine, read_page

    engine()
    texts: list[str] = []
    started = time.perf_counter()
    for path in paths:
        with Image.open(path) as image:
            texts.append(read_page(image, 60) or "")
    seconds = time.perf_counter() - started
    return texts, seconds, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


# --------------------------------------------------------------------------- scoring


def fold(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text).split())


def distance(a: str, b: str) -> int:
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def score(truths: list[list[str]], texts: list[str]) -> tuple[float, float]:
    errors = chars = exact = lines = 0
    for truth, text in zip(truths, texts, strict=True):
        want = fold("".join(truth))
        errors += distance(want, fold(text))
        chars += len(want)
        got = {fold(line) for line in text.splitlines()}
        exact += sum(fold(line) in got for line in truth)
        lines += len(truth)
    return errors / chars, exact / lines


def tesseract(paths: list[str]) -> tuple[list[str], float]:
    env = {**os.environ, "OMP_THREAD_LIMIT": "1"}
    texts = []
    started = time.perf_counter()
    for path in paths:
        done = subprocess.run(
            ["tesseract", path, "stdout", "-l", "chi_sim", "--psm", "6"],
            capture_output=True,
            env=env,
            check=True,
        )
        texts.append(done.stdout.decode("utf-8", "replace"))
    return texts, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pages", type=int, default=40, help="pages per resolution")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    from search.sandbox import run_limited

    rng = random.Random(args.seed)
    truths = [page_lines(rng) for _ in range(args.pages)]
    work = Path(tempfile.mkdtemp(prefix="ocr-bench-"))
    sets: dict[int, list[str]] = {}
    for dpi in (150, 300):
        sets[dpi] = []
        for number, lines in enumerate(truths):
            path = work / f"{dpi}-{number:03d}.jpg"
            path.write_bytes(draw(lines, dpi, rng))
            sets[dpi].append(str(path))
    print(
        f"{args.pages} pages per resolution, 8 lines each; degraded (skew ±2°, blur, noise, JPEG)"
    )

    # The child imports this module by name: the function must not live in __main__.
    bench = importlib.import_module("ocr_bench")
    results: dict[int, tuple[list[str], float, int]] = {}

    def run(dpi: int) -> None:
        results[dpi] = run_limited(bench.ocr_files, sets[dpi], timeout=1800, memory_mb=2048)

    wall = time.perf_counter()
    threads = [threading.Thread(target=run, args=(dpi,)) for dpi in sets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - wall

    print(f"\n{'engine':<22}{'dpi':>5}{'CER':>9}{'lines exact':>13}{'pages/s':>10}{'peak RSS':>11}")
    for dpi, (texts, seconds, rss) in sorted(results.items()):
        cer, exact = score(truths, texts)
        print(
            f"{'rapidocr (1 thread)':<22}{dpi:>5}{cer:>9.2%}{exact:>13.1%}"
            f"{len(texts) / seconds:>10.2f}{rss / 1024:>8.0f} MiB"
        )
    total = sum(len(t) for t, _, _ in results.values())
    print(f"rapidocr, two children at once: {total / wall:.2f} pages/s (wall clock, incl. start)")
    if shutil.which("tesseract"):
        for dpi in sorted(sets):
            texts, seconds = tesseract(sets[dpi])
            cer, exact = score(truths, texts)
            print(
                f"{'tesseract chi_sim':<22}{dpi:>5}{cer:>9.2%}{exact:>13.1%}"
                f"{len(texts) / seconds:>10.2f}{'':>11}"
            )
    else:
        print("tesseract not installed: its baseline was skipped")
    shutil.rmtree(work)


if __name__ == "__main__":
    main()
