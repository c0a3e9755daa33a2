"""OCR benchmark: accuracy and speed of RapidOCR (the service's engine) and Tesseract chi_sim.

Generates pages of Chinese business text with their ground truth — contract clauses,
company and person names, 18-character credit codes, amounts, dates, contract numbers —
drawn in Noto Sans or Serif CJK SC at 150 and 300 dpi, then degraded as a scanner or a
phone would (skew within ±2°, a light blur, noise, JPEG compression); every fourth page
has a red round stamp (红色公章: a ring, the company's name along it, a star) over its text.
A "page" is a block of 10 lines, 14 cm wide (10.5 pt).

Prints per engine and resolution: character error rate (edit distance over the truth's
characters, whitespace removed, both sides NFKC-folded so full- and half-width punctuation
count as one; a stamp's own words count as errors where they are read), per-line exact
match (a truth line equal to one recognised line), pages/s and the peak RSS of the process
that read them. RapidOCR runs as the service runs it: in the sandboxed child
(search/sandbox.py), the engine loaded once per child and reused for every page, one
thread; two children (one per resolution) run at once on the machine's two cores.
Tesseract (``tesseract`` with ``chi_sim``; never needed by the tests) runs one process
per page, one thread, two at once. Then recall@10 of 30 labelled queries (credit codes,
contract numbers, person names, company names with a clause word) over the OCR'd pages,
indexed with the project's own search backend (search.SearchIndex: its analyzer and query
parser), per engine.

    nice -n 10 python benchmarks/ocr_bench.py [--pages 200] [--seed 7] [--det-limit N]
"""

# ruff: noqa: S311, S603, S607 - seeded pseudo-random pages; tesseract found on PATH
from __future__ import annotations

import argparse
import importlib
import io
import math
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import unicodedata
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

FONTS = "/usr/share/fonts/opentype/noto/"
BODY_FONTS = ("NotoSansCJK-Regular.ttc", "NotoSerifCJK-Regular.ttc")
STAMP_FONT = "NotoSerifCJK-Bold.ttc"
SC = 2  # the Simplified Chinese face in the Noto CJK collections
_REGIONS = ["上海", "北京", "深圳", "杭州", "广州", "南京", "成都", "武汉", "苏州", "天津"]
_TRADES = [
    "恒泰隆",
    "华夏精密",
    "中科远景",
    "鹏程新能源",
    "西湖丝绸",
    "珠江物流",
    "长城建材",
    "东方汇通",
    "金桥电子",
    "瑞丰农业",
    "海纳百川",
    "宏达化工",
]
_KINDS = [
    "贸易有限公司",
    "机械股份有限公司",
    "信息技术有限公司",
    "科技有限公司",
    "进出口有限公司",
    "集团有限公司",
]
_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘"
_GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国志红玉兰文辉鹏飞宇浩然"
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
    "本合同一式肆份，双方各执贰份，具有同等法律效力",
    "甲方有权对货物质量进行抽检，抽检费用由乙方承担",
    "因不可抗力导致合同无法履行的，双方互不承担责任",
    "乙方应对甲方提供的技术资料承担保密义务",
    "租赁期限届满后乙方应将房屋完好交还甲方",
    "借款人应按期足额偿还贷款本金及利息",
    "保证人对上述债务承担连带保证责任",
    "本协议未尽事宜由双方另行签订补充协议",
]
_CODE_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def credit_code(rng: random.Random) -> str:
    return "91" + "".join(rng.choice(_CODE_CHARS) for _ in range(16))


def company(rng: random.Random) -> str:
    return rng.choice(_REGIONS) + rng.choice(_TRADES) + rng.choice(_KINDS)


def person(rng: random.Random) -> str:
    return rng.choice(_SURNAMES) + "".join(rng.sample(_GIVEN, rng.choice((1, 2))))


def page_lines(rng: random.Random, number: int) -> list[str]:
    amount = rng.randint(10_000, 9_999_999)
    year, month, day = rng.randint(2015, 2026), rng.randint(1, 12), rng.randint(1, 28)
    lines = [
        f"合同编号：HT-{year}-{number + 1:04d}",
        f"甲方：{company(rng)}",
        f"统一社会信用代码：{credit_code(rng)}",
        f"乙方：{company(rng)}",
        f"法定代表人：{person(rng)}　联系电话：1{rng.randint(3, 9)}{rng.randint(0, 10**9 - 1):09d}",
        f"合同金额：人民币{amount:,}.{rng.randint(0, 99):02d}元",
        f"签订日期：{year}年{month}月{day}日",
    ]
    lines += rng.sample(CLAUSES, 3)
    return lines


@dataclass
class Page:
    lines: list[str]
    font: str
    stamp: str | None  # the stamp's ring text (a company), if the page has one


def stamp_image(name: str, diameter: int) -> Any:
    """A red round official seal: a ring, ``name`` along its upper arc, a star, a title."""
    from PIL import Image, ImageDraw, ImageFont

    seal = Image.new("L", (diameter, diameter), 0)  # ink coverage; coloured when laid on
    pen = ImageDraw.Draw(seal)
    ring = max(2, diameter // 28)
    pen.ellipse((ring, ring, diameter - ring, diameter - ring), outline=255, width=ring)
    centre = diameter / 2
    # A five-pointed star in the middle.
    outer, inner = diameter * 0.16, diameter * 0.064
    points = []
    for k in range(10):
        radius = outer if k % 2 == 0 else inner
        angle = -math.pi / 2 + k * math.pi / 5
        points.append((centre + radius * math.cos(angle), centre + radius * math.sin(angle)))
    pen.polygon(points, fill=255)
    font = ImageFont.truetype(FONTS + STAMP_FONT, round(diameter * 0.12), index=SC)
    title = ImageFont.truetype(FONTS + STAMP_FONT, round(diameter * 0.09), index=SC)
    pen.text((centre, centre + diameter * 0.27), "合同专用章", font=title, fill=255, anchor="mm")
    span = math.radians(230)  # the name runs clockwise over the top
    radius = centre - ring * 2 - diameter * 0.07
    for k, char in enumerate(name):
        angle = -math.pi / 2 - span / 2 + span * (k + 0.5) / len(name)
        side = round(font.size)
        glyph = Image.new("L", (side * 2, side * 2), 0)
        ImageDraw.Draw(glyph).text((side, side), char, font=font, fill=255, anchor="mm")
        glyph = glyph.rotate(-math.degrees(angle) - 90, resample=Image.Resampling.BICUBIC)
        x = centre + radius * math.cos(angle) - side
        y = centre + radius * math.sin(angle) - side
        seal.paste(255, (round(x), round(y)), glyph)
    return seal


def draw(page: Page, dpi: int, rng: random.Random) -> bytes:
    """The page as a degraded JPEG at ``dpi``."""
    import numpy as np
    from PIL import Image, ImageDraw, ImageFilter, ImageFont

    px = dpi / 72  # pixels per point
    size = round(10.5 * px)
    font = ImageFont.truetype(FONTS + page.font, size, index=SC)
    width = round(14 / 2.54 * dpi)
    height = round(len(page.lines) * size * 1.8 + 4 * size)
    image = Image.new("RGB", (width, height), (255, 255, 255))
    pen = ImageDraw.Draw(image)
    for number, line in enumerate(page.lines):
        ink = rng.randint(0, 60)
        pen.text((size, size * (1.5 + number * 1.8)), line, font=font, fill=(ink, ink, ink))
    if page.stamp:
        diameter = round(3.8 / 2.54 * dpi)  # a 38 mm seal, as contracts carry
        seal = stamp_image(page.stamp, diameter).rotate(rng.uniform(-25, 25))
        seal = seal.point(lambda v: v * rng.uniform(0.75, 0.95))  # uneven ink
        red = Image.new("RGB", seal.size, (rng.randint(200, 230), rng.randint(20, 50), 40))
        x = rng.randint(width // 3, width - diameter)
        y = rng.randint(0, max(0, height - diameter))
        # Ink over print: multiply, so the black text stays black under the red.
        under = image.crop((x, y, x + diameter, y + diameter))
        inked = Image.composite(red, Image.new("RGB", seal.size, (255, 255, 255)), seal)
        from PIL import ImageChops

        image.paste(ImageChops.multiply(under, inked), (x, y))
    image = image.rotate(
        rng.uniform(-2, 2), resample=Image.Resampling.BICUBIC, fillcolor=(255, 255, 255)
    )
    image = image.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 0.8) * dpi / 150))
    noise = np.random.default_rng(rng.randint(0, 1 << 30)).normal(0, 10, (height, width, 1))
    pixels = np.asarray(image, dtype=np.float32) + noise
    image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=rng.randint(55, 75), dpi=(dpi, dpi))
    return out.getvalue()


# --------------------------------------------------------------------------- in the child


def ocr_files(paths: list[str], tuning: dict[str, Any]) -> tuple[list[str], float, int, float]:
    """Runs in the sandboxed child: each page's text, the seconds spent reading them (the
    engine loaded once, before the clock starts, and reused for every page), the child's
    peak RSS in KiB and the CPU seconds spent reading (a shared machine's load shows in
    the first, far less in the last). ``tuning``: rapidocr parameters over the service's."""
    import resource

    from PIL import Image

    from search import ocr

    if tuning:
        ocr.ENGINE_PARAMS.update(tuning)
    ocr.engine()
    texts: list[str] = []
    started, cpu = time.perf_counter(), time.process_time()
    for path in paths:
        with Image.open(path) as image:
            texts.append(ocr.read_page(image, 120) or "")
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    return texts, seconds, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, cpu


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


def score(pages: list[Page], texts: list[str]) -> tuple[float, float]:
    errors = chars = exact = lines = 0
    for page, text in zip(pages, texts, strict=True):
        want = fold("".join(page.lines))
        errors += distance(want, fold(text))
        chars += len(want)
        got = {fold(line) for line in text.splitlines()}
        exact += sum(fold(line) in got for line in page.lines)
        lines += len(page.lines)
    return errors / max(chars, 1), exact / max(lines, 1)


def without_seal(page: Page, text: str) -> str:
    """``text`` less the lines that are wholly the seal's own words (its title or a piece of
    the name on its ring): what CER on stamped pages is once reading the seal is not
    counted as an error."""
    seal = fold(f"合同专用章{page.stamp or ''}")
    return "\n".join(line for line in text.splitlines() if not fold(line) or fold(line) not in seal)


def tesseract(paths: list[str]) -> tuple[list[str], float, int, float]:
    """Each page's text, the wall seconds (two processes at once), the peak RSS (KiB) and
    the CPU seconds."""
    env = {**os.environ, "OMP_THREAD_LIMIT": "1"}

    def one(path: str) -> tuple[str, int, float]:
        proc = subprocess.Popen(
            ["tesseract", path, "stdout", "-l", "chi_sim", "--psm", "6"],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        assert proc.stdout is not None
        out = proc.stdout.read()
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        return out.decode("utf-8", "replace"), usage.ru_maxrss, usage.ru_utime + usage.ru_stime

    started = time.perf_counter()
    with ThreadPoolExecutor(2) as pool:
        done = list(pool.map(one, paths))
    return (
        [t for t, _, _ in done],
        time.perf_counter() - started,
        max(r for _, r, _ in done),
        sum(c for _, _, c in done),
    )


# --------------------------------------------------------------------------- search recall


def labelled_queries(pages: list[Page], rng: random.Random, count: int = 30) -> list[str]:
    """Queries a clerk would type, drawn from the truth: credit codes, contract numbers,
    person names, a company name with a clause word (two words, both must match)."""
    queries: list[str] = []
    chosen = [rng.randrange(len(pages)) for _ in range(count)]
    for k, number in enumerate(chosen):
        lines = pages[number].lines
        kind = k % 4
        if kind == 0:
            queries.append(lines[2].split("：", 1)[1])  # credit code
        elif kind == 1:
            queries.append(lines[0].split("：", 1)[1])  # contract number
        elif kind == 2:
            queries.append(lines[4].split("：", 1)[1].split("　", 1)[0])  # person name
        else:
            clause = lines[7 + rng.randrange(3)]
            word = clause[4:8]
            queries.append(f"{lines[1].split('：', 1)[1]} {word}")
    return queries


def relevant(pages: list[Page], query: str) -> set[int]:
    """Pages whose truth holds every word of ``query``."""
    words = query.split()
    return {n for n, page in enumerate(pages) if all(w in "".join(page.lines) for w in words)}


def recall_at_10(pages: list[Page], texts: list[str], queries: list[str], work: Path) -> float:
    """Mean recall@10 (relevant found in the top 10, over min(10, relevant)) of ``queries``
    against the OCR texts, indexed with the project's search backend."""
    from search import AccessFilter, IndexedDocument, SearchIndex, SearchQuery

    index = SearchIndex(work, key=b"b" * 32)
    index.rebuild(
        IndexedDocument(
            id=n + 1,
            numbers=(),
            title="",
            customer_id=1,
            customer_name="",
            customer_code=None,
            category="business.contract",
            department="D",
            status="accepted",
            on_hold=False,
            document_date=None,
            filing_date=None,
            tags=(),
            identifiers=(),
            body=text,
        )
        for n, text in enumerate(texts)
    )
    total = 0.0
    for query in queries:
        want = {n + 1 for n in relevant(pages, query)}
        found = index.search(
            SearchQuery(text=query, access=AccessFilter(everything=True), per_page=10)
        )
        got = {hit.id for hit in found.hits}
        total += len(want & got) / min(10, len(want))
    return total / len(queries)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pages", type=int, default=200, help="pages per resolution")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--det-limit",
        type=int,
        default=0,
        help="rapidocr: longest side the "
        "detector sees (Det.limit_type max); 0: the service's setting",
    )
    parser.add_argument("--no-tesseract", action="store_true")
    args = parser.parse_args()

    from search.sandbox import run_limited

    rng = random.Random(args.seed)
    pages = [
        Page(
            lines=page_lines(rng, n),
            font=BODY_FONTS[n % 2],
            stamp=company(rng) if n % 4 == 3 else None,
        )
        for n in range(args.pages)
    ]
    work = Path(tempfile.mkdtemp(prefix="ocr-bench-"))
    sets: dict[int, list[str]] = {}
    for dpi in (150, 300):
        sets[dpi] = []
        for number, page in enumerate(pages):
            path = work / f"{dpi}-{number:03d}.jpg"
            path.write_bytes(draw(page, dpi, rng))
            sets[dpi].append(str(path))
    stamped = [n for n, p in enumerate(pages) if p.stamp]
    print(
        f"{args.pages} pages per resolution ({2 * args.pages} in all), 10 lines each, "
        f"Noto Sans/Serif CJK SC; degraded (skew ±2°, blur, noise, JPEG 55-75); "
        f"{len(stamped)} per resolution with a red round stamp over the text"
    )
    tuning: dict[str, Any] = {}
    if args.det_limit:
        tuning = {"Det.limit_type": "max", "Det.limit_side_len": args.det_limit}
        print(f"rapidocr tuning: {tuning}")

    # The child imports this module by name: the function must not live in __main__.
    bench = importlib.import_module("ocr_bench")
    results: dict[str, dict[int, tuple[list[str], float, int, float]]] = {"rapidocr": {}}

    def run(dpi: int) -> None:
        results["rapidocr"][dpi] = run_limited(
            bench.ocr_files, sets[dpi], tuning, timeout=7200, memory_mb=2048
        )

    wall = time.perf_counter()
    threads = [threading.Thread(target=run, args=(dpi,)) for dpi in sets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - wall
    rapid_rate = sum(len(r[0]) for r in results["rapidocr"].values()) / wall

    tess_rate = 0.0
    if shutil.which("tesseract") and not args.no_tesseract:
        results["tesseract"] = {}
        wall = time.perf_counter()
        for dpi in sorted(sets):
            results["tesseract"][dpi] = tesseract(sets[dpi])
        tess_rate = 2 * args.pages / (time.perf_counter() - wall)
    else:
        print("tesseract skipped")

    names = {
        "rapidocr": "rapidocr 3.10 (sandbox, 1 thread/child)",
        "tesseract": "tesseract 5 chi_sim --psm 6 (1 thread)",
    }
    print(
        "\n| engine | dpi | CER | CER, stamped pages (seal's words not counted) | lines exact "
        "| pages/s (1 core) "
        "| pages per CPU-second | peak RSS |\n| --- | --- | --- | --- | --- | --- | --- | --- |"
    )
    cers: dict[tuple[str, int], float] = {}
    for engine, by_dpi in results.items():
        for dpi, (texts, seconds, rss, cpu) in sorted(by_dpi.items()):
            cer, exact = score(pages, texts)
            cers[engine, dpi] = cer
            stamp_cer, _ = score([pages[n] for n in stamped], [texts[n] for n in stamped])
            unsealed, _ = score(
                [pages[n] for n in stamped], [without_seal(pages[n], texts[n]) for n in stamped]
            )
            # Tesseract ran two processes at once: its per-core rate is half the wall rate.
            rate = len(texts) / seconds / (2 if engine == "tesseract" else 1)
            print(
                f"| {names[engine]} | {dpi} | {cer:.2%} | {stamp_cer:.2%} ({unsealed:.2%}) "
                f"| {exact:.1%} "
                f"| {rate:.2f} | {len(texts) / cpu:.2f} | {rss / 1024:.0f} MiB |"
            )
    print(f"\nrapidocr, two children at once on 2 cores: {rapid_rate:.2f} pages/s (wall clock)")
    if tess_rate:
        print(f"tesseract, two processes at once on 2 cores: {tess_rate:.2f} pages/s")
        for dpi in sorted(sets):
            theirs, ours = cers["tesseract", dpi], cers["rapidocr", dpi]
            ratio = f"{theirs / ours:.1f}×" if ours else "∞ (rapidocr 0 errors)"
            print(f"tesseract CER / rapidocr CER at {dpi} dpi: {ratio}")

    queries = labelled_queries(pages, random.Random(args.seed + 1))
    both = pages + pages  # the 150 and the 300 dpi copies, each its own document
    for engine, by_dpi in results.items():
        texts = by_dpi[150][0] + by_dpi[300][0]
        truth_recall = recall_at_10(both, texts, queries, work / f"ix-{engine}")
        print(
            f"recall@10, {len(queries)} labelled queries over {len(texts)} OCR'd pages "
            f"(search.SearchIndex), {engine}: {truth_recall:.3f}"
        )
    exact = recall_at_10(both, ["\n".join(p.lines) for p in both], queries, work / "ix-truth")
    print(
        f"recall@10 of the same queries over the true text (the index's own ceiling): {exact:.3f}"
    )
    shutil.rmtree(work)


if __name__ == "__main__":
    main()
