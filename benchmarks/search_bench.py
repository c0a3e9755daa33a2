"""Search benchmark: indexing speed, latency with an access filter, and quality, in one run.

Prints, per quality.md (ratios in one run, absolute figures beside their baseline):
* indexing docs/s with our analyzer vs Whoosh's StandardAnalyzer and jieba's
  ChineseAnalyzer (the baselines are timed on a slice of the same corpus);
* index size;
* p50/p95 latency of one-word and two-word Chinese queries and of exact number
  look-ups, each with a clerk's access filter (a department plus granted customers);
* recall@10 and precision@10 on ≥ 50 labelled Chinese queries, ours vs the default
  analyzer. Labels come from the generator: each query's relevant documents are
  the ones its "needle" words were planted in (decoys hold only part of a query).

The corpus is synthetic but built from real business vocabulary, company names,
contract and archive numbers, with some English. Usage::

    python benchmarks/search_bench.py [--docs 100000] [--baseline-docs 3000] [--workers 2]
"""

# ruff: noqa: S311 - seeded pseudo-random corpora, for reproducibility, not security
from __future__ import annotations

import argparse
import gc
import itertools
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from search import AccessFilter, IndexedDocument, SearchIndex, SearchQuery  # noqa: E402

# --------------------------------------------------------------------------- corpus

WORDS = [
    "合同",
    "采购",
    "付款",
    "投诉",
    "客户",
    "发票",
    "结算",
    "验收",
    "交付",
    "违约",
    "赔偿",
    "协议",
    "订单",
    "报价",
    "审批",
    "财务",
    "审计",
    "税务",
    "银行",
    "账户",
    "贷款",
    "担保",
    "抵押",
    "租赁",
    "物流",
    "仓储",
    "运输",
    "质量",
    "检验",
    "售后",
    "维修",
    "保修",
    "退货",
    "换货",
    "退款",
    "对账",
    "应收账款",
    "应付账款",
    "预付款",
    "尾款",
    "保证金",
    "押金",
    "利息",
    "汇款",
    "转账",
    "开户",
    "营业执照",
    "法定代表人",
    "授权委托书",
    "公章",
    "签字",
    "盖章",
    "董事会",
    "股东",
    "章程",
    "变更",
    "注册资本",
    "年检",
    "备案",
    "招标",
    "投标",
    "中标",
    "评标",
    "供应商",
    "经销商",
    "代理商",
    "项目",
    "工程",
    "施工",
    "监理",
    "竣工",
    "设计",
    "图纸",
    "预算",
    "决算",
    "成本",
    "利润",
    "收入",
    "支出",
    "报销",
    "差旅",
    "会议",
    "纪要",
    "通知",
    "函件",
    "回复",
    "说明",
    "申请",
    "批复",
    "整改",
    "检查",
    "考核",
    "培训",
    "人员",
    "劳动",
    "社保",
    "公积金",
    "工资",
    "奖金",
    "福利",
    "保险",
    "理赔",
    "产品",
    "服务",
    "价格",
    "数量",
    "规格",
    "型号",
    "期限",
    "条款",
    "附件",
    "补充",
    "终止",
    "解除",
    "续签",
    "生效",
    "有效期",
    "双方",
    "甲方",
    "乙方",
    "责任",
    "义务",
    "权利",
    "约定",
    "履行",
    "通知书",
    "确认",
    "核实",
    "处理",
    "反馈",
    "意见",
    "建议",
    "问题",
    "原因",
    "结果",
    "方案",
    "计划",
    "进度",
    "安排",
    "负责",
    "联系",
    "电话",
    "地址",
    "邮箱",
    "部门",
    "经理",
    "主管",
    "专员",
    "总监",
    "业务",
    "市场",
    "销售",
    "渠道",
    "推广",
    "品牌",
    "合作",
    "战略",
    "框架",
    "长期",
    "年度",
    "季度",
    "月度",
    "统计",
    "报表",
    "数据",
    "系统",
    "平台",
    "信息",
    "技术",
    "支持",
    "升级",
    "上线",
    "测试",
    "资料",
    "档案",
    "文件",
    "原件",
    "复印件",
    "扫描件",
    "归档",
    "借阅",
    "移交",
    "保管",
    "销毁",
    "密级",
    "内部",
    "公开",
]

CONNECTORS = ["，；、。"] + ["，", "，", "。"]
CITIES = [
    "上海",
    "北京",
    "深圳",
    "广州",
    "杭州",
    "南京",
    "苏州",
    "成都",
    "武汉",
    "天津",
    "重庆",
    "西安",
    "宁波",
    "厦门",
    "青岛",
    "无锡",
]
CORES = [
    "华信",
    "恒泰",
    "鼎盛",
    "宏达",
    "金桥",
    "瑞丰",
    "天成",
    "远航",
    "中联",
    "博远",
    "新纪元",
    "东方",
    "海纳",
    "启明",
    "汇通",
    "嘉禾",
    "润泽",
    "盛世",
    "永信",
    "泰和",
    "华茂",
    "银河",
    "星辰",
    "卓越",
    "凯旋",
    "信诚",
    "安盛",
    "通达",
    "万象",
    "同心",
]
TRADES = [
    "科技",
    "贸易",
    "实业",
    "物流",
    "建设",
    "电子",
    "医药",
    "食品",
    "机械",
    "能源",
    "咨询",
    "传媒",
    "材料",
    "化工",
    "纺织",
]
SUFFIXES = ["有限公司", "股份有限公司", "集团有限公司"]
ENGLISH = (
    "Purchase order confirmed by email",
    "payment terms net 30 days",
    "invoice attached for your review",
    "please find the signed contract",
    "quality inspection report",
    "delivery schedule updated",
    "customer complaint resolved",
    "meeting minutes and action items",
)
DEPARTMENTS = ["SALES", "PROC", "FIN", "LEGAL", "HR", "OPS"]
CATEGORIES = [
    "business.contract",
    "business.order",
    "business.invoice",
    "service.complaint",
    "service.repair",
    "finance.payment",
    "finance.audit",
    "legal.litigation",
]

# Needle words and phrases: absent from WORDS, planted in known documents.
NEEDLES = [
    "反洗钱",
    "质保金",
    "保函",
    "滞纳金",
    "知识产权",
    "冷链",
    "跨境电商",
    "不可抗力",
    "竞业限制",
    "商业秘密",
    "融资租赁",
    "保理",
    "信用证",
    "承兑汇票",
    "增值税",
    "海关报关",
    "原产地证明",
    "环境评估",
    "安全生产",
    "消防验收",
    "专利许可",
    "商标注册",
    "数据出境",
    "个人信息",
    "反垄断",
    "关联交易",
    "对赌协议",
    "股权质押",
    "破产重整",
    "债务重组",
    "资产评估",
    "尽职调查",
    "备用金",
    "固定资产",
    "无形资产",
    "递延收益",
    "坏账准备",
    "存货盘点",
    "质押登记",
    "仲裁裁决",
]
# Two-word queries: documents get both words; decoys get one of them.
PAIRS = [
    ("保证金", "退还"),
    ("发票", "红冲"),
    ("合同", "补签"),
    ("投诉", "升级处理"),
    ("付款", "逾期"),
    ("验收", "不合格"),
    ("采购", "集采"),
    ("客户", "流失"),
]
# Quoted phrases: documents get the words adjacent, decoys get both apart.
PHRASES = ["电子签章", "分期付款", "产品召回", "票据贴现"]
# Traditional-script queries for planted simplified text (folding, both ways).
TRADITIONAL = {
    "税务稽查": "稅務稽查",
    "资质证书": "資質證書",
    "银行流水": "銀行流水",
    "诉讼时效": "訴訟時效",
    "质量认证": "質量認證",
}


@dataclass
class Labelled:
    query: str
    kind: str
    relevant: set[int] = field(default_factory=set)


# Word frequencies follow Zipf's law, as in real text: a few words (合同, 客户) are in
# most documents, most words in a few percent of them.
_RANKED = random.Random(11).sample(WORDS, len(WORDS))
_CUM = list(itertools.accumulate(1.0 / (rank + 1) for rank in range(len(_RANKED))))


def word(rng: random.Random, sink: set[str] | None = None) -> str:
    """A vocabulary word; ``sink`` records it (labels come from what was written)."""
    chosen = rng.choices(_RANKED, cum_weights=_CUM)[0]
    if sink is not None:
        sink.add(chosen)
    return chosen


def company(rng: random.Random) -> str:
    return rng.choice(CITIES) + rng.choice(CORES) + rng.choice(TRADES) + rng.choice(SUFFIXES)


def sentence(rng: random.Random, sink: set[str]) -> str:
    """One business-like clause, from templates or a run of vocabulary words."""
    pick = rng.random()
    if pick < 0.18:
        sink.add("合同")
        return (
            f"{company(rng)}与{company(rng)}签订{word(rng, sink)}合同，合同编号"
            f"HT-{rng.randint(2015, 2024)}-{rng.randint(1, 999):03d}，金额人民币"
            f"{rng.randint(1, 9_999_999):,}元"
        )
    if pick < 0.30:
        sink.add("部门")
        return (
            f"{word(rng, sink)}部门于{rng.randint(2015, 2024)}年{rng.randint(1, 12)}月"
            f"{rng.randint(1, 28)}日完成{word(rng, sink)}{word(rng, sink)}"
        )
    if pick < 0.36:
        return rng.choice(ENGLISH)
    n = rng.randint(3, 8)
    return "".join(word(rng, sink) for _ in range(n))


def body_text(rng: random.Random, target_chars: int, sink: set[str]) -> list[str]:
    parts: list[str] = []
    size = 0
    while size < target_chars:
        s = sentence(rng, sink) + rng.choice(CONNECTORS)
        parts.append(s)
        size += len(s)
    return parts


def archive_number(rng: random.Random, i: int) -> str:
    return f"K{rng.randint(1, 999):03d}{rng.randint(2015, 2024)}{i % 100:02d}{i:07d}"


def generate(n: int, seed: int = 7) -> tuple[list[IndexedDocument], list[Labelled]]:
    """``n`` documents (~2 KB of UTF-8 each) and the labelled queries planted in them."""
    rng = random.Random(seed)
    customers = [(cid, company(rng), rng.choice(DEPARTMENTS)) for cid in range(1, 2001)]
    bodies: list[list[str]] = []
    emitted: list[set[str]] = []  # the words written into each body
    docs_meta = []
    for i in range(1, n + 1):
        cid, cname, dept = rng.choice(customers)
        sink: set[str] = set()
        emitted.append(sink)
        bodies.append(body_text(rng, rng.randint(550, 800), sink))
        # Title and tags are searched too: their words count for the labels.
        title = f"{cname}{word(rng, sink)}{word(rng, sink)}"
        tags = tuple(rng.sample(WORDS, 2))
        sink.update(tags)
        docs_meta.append((i, cid, cname, dept, title, tags))

    labels: list[Labelled] = []

    def plant(doc_index: int, text: str, *words: str) -> None:
        emitted[doc_index].update(words)
        parts = bodies[doc_index]
        parts.insert(rng.randrange(len(parts) + 1), text + "。")

    def targets(k: int) -> list[int]:
        return rng.sample(range(n), k)

    for needle in NEEDLES:
        label = Labelled(needle, "one-word")
        for d in targets(rng.randint(4, 10)):
            plant(d, f"{word(rng, emitted[d])}{needle}{word(rng, emitted[d])}", needle)
            label.relevant.add(d + 1)
        labels.append(label)
    for a, b in PAIRS:
        for d in targets(rng.randint(4, 10)):
            e = emitted[d]
            plant(d, f"{word(rng, e)}{a}{word(rng, e)}，{b}{word(rng, e)}", a, b)
        for d in targets(20):  # the rarer second word alone (unless the first is there anyway)
            plant(d, f"{word(rng, emitted[d])}{b}", b)
    for a, b in PAIRS:
        # Relevant: every document the generator wrote both words into.
        both = {d + 1 for d in range(n) if a in emitted[d] and b in emitted[d]}
        labels.append(Labelled(f"{a} {b}", "two-word", both))
    for phrase in PHRASES:
        label = Labelled(f'"{phrase}"', "phrase")
        half = len(phrase) // 2
        for d in targets(rng.randint(4, 10)):
            plant(d, f"{word(rng, emitted[d])}{phrase}{word(rng, emitted[d])}")
            label.relevant.add(d + 1)
        for d in targets(20):  # decoys: both halves, apart
            e = emitted[d]
            decoy = f"{phrase[:half]}{word(rng, e)}，{word(rng, e)}{phrase[half:]}"
            plant(d, decoy)
            if phrase in decoy:  # the word between happened to complete the phrase
                label.relevant.add(d + 1)
        labels.append(label)
    for simplified, traditional in TRADITIONAL.items():
        label = Labelled(traditional, "traditional")
        for k, d in enumerate(targets(rng.randint(4, 10))):
            # Half the documents are themselves in traditional script.
            plant(d, f"{word(rng, emitted[d])}{simplified if k % 2 else traditional}")
            label.relevant.add(d + 1)
        labels.append(label)

    start = date(2015, 1, 1)
    docs = []
    for idx, (i, cid, cname, dept, title, tags) in enumerate(docs_meta):
        numbers = (archive_number(rng, i),)
        if rng.random() < 0.05:
            numbers += (f"Q{rng.randint(1, 99):03d}-K·{rng.randint(2015, 2024)}-D30-{i:06d}",)
        docs.append(
            IndexedDocument(
                id=i,
                numbers=numbers,
                title=title,
                customer_id=cid,
                customer_name=cname,
                customer_code=f"9131{cid:06d}MA1FL8XQ{cid % 97:02d}",
                category=rng.choice(CATEGORIES),
                department=dept,
                status=rng.choice(["submitted", "accepted", "accepted", "returned"]),
                on_hold=rng.random() < 0.02,
                document_date=start + timedelta(days=rng.randint(0, 3650)),
                filing_date=start + timedelta(days=rng.randint(0, 3650)),
                tags=tags,
                identifiers=(f"HT-{rng.randint(2015, 2024)}-{i:06d}",),
                body="".join(bodies[idx]),
            )
        )
    return docs, labels


# --------------------------------------------------------------------------- measuring


def dir_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def baseline_docs_per_s(docs: list[IndexedDocument], analyzer: object, directory: Path) -> float:
    """Plain Whoosh: a TEXT schema with ``analyzer``, one writer, one commit."""
    from whoosh import fields, index

    text = fields.TEXT(analyzer=analyzer)
    schema = fields.Schema(
        id=fields.ID(stored=True, unique=True), title=text, body=text, customer_name=text
    )
    directory.mkdir(parents=True)
    ix = index.create_in(str(directory), schema)
    started = time.perf_counter()
    writer = ix.writer(limitmb=256)
    for doc in docs:
        writer.add_document(
            id=str(doc.id), title=doc.title, body=doc.body, customer_name=doc.customer_name
        )
    writer.commit()
    return len(docs) / (time.perf_counter() - started)


def percentiles(samples: list[float]) -> str:
    ordered = sorted(samples)
    p50 = statistics.median(ordered)
    p95 = ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]
    return f"p50 {p50:7.1f} ms   p95 {p95:7.1f} ms   (n={len(ordered)})"


def timed(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return (time.perf_counter() - started) * 1000


def quality(
    labels: list[Labelled], top10: Callable[[str], list[int]]
) -> tuple[float, float, dict[str, tuple[float, float]]]:
    """Macro recall@10 (found / min(10, relevant)) and precision@10 (relevant / returned,
    0 when nothing is returned), overall and per kind of query."""
    per_kind: dict[str, list[tuple[float, float]]] = {}
    for label in labels:
        got = top10(label.query)[:10]
        hit = len(set(got) & label.relevant)
        recall = hit / min(10, len(label.relevant))
        precision = hit / len(got) if got else 0.0
        per_kind.setdefault(label.kind, []).append((recall, precision))
    every = [rp for rps in per_kind.values() for rp in rps]

    def mean(rps: list[tuple[float, float]]) -> tuple[float, float]:
        return statistics.fmean(r for r, _ in rps), statistics.fmean(p for _, p in rps)

    r, p = mean(every)
    return r, p, {kind: mean(rps) for kind, rps in per_kind.items()}


def main() -> None:  # noqa: PLR0915 - one linear report
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--docs", type=int, default=100_000)
    parser.add_argument("--baseline-docs", type=int, default=3000, help="slice for baselines")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--queries", type=int, default=100, help="per latency kind")
    parser.add_argument("--no-default-quality", action="store_true")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="search-bench-"))
    try:
        print(f"corpus: {args.docs:,} synthetic documents ...", flush=True)
        started = time.perf_counter()
        docs, labels = generate(args.docs)
        size = statistics.fmean(len(d.body.encode()) for d in docs[:2000])
        # The corpus is ~1 GB of long-lived objects: keep the garbage collector from
        # re-scanning it during every timed phase (it would slow the in-process
        # baselines, not the worker processes).
        gc.freeze()
        print(
            f"  generated in {time.perf_counter() - started:.1f} s; body ~{size:,.0f} bytes UTF-8"
        )

        # -- indexing: baselines and ours on the same slice, then ours on everything
        import jieba
        from jieba.analyse import ChineseAnalyzer
        from whoosh.analysis import StandardAnalyzer

        jieba.setLogLevel(60)
        jieba.initialize()  # its ~1.3 s load is not indexing
        sample = docs[: args.baseline_docs]
        print(f"\nindexing, docs/s on the same {len(sample):,} documents (one writer, one commit)")
        rates = {
            "Whoosh StandardAnalyzer": baseline_docs_per_s(
                sample, StandardAnalyzer(), workdir / "std"
            ),
            "jieba ChineseAnalyzer": baseline_docs_per_s(
                sample, ChineseAnalyzer(), workdir / "jieba"
            ),
        }
        for workers in (0, args.workers):
            ix = SearchIndex(workdir / f"ours{workers}")
            started = time.perf_counter()
            ix.rebuild(sample, workers=workers)
            label = "ours, 1 process" if workers <= 1 else f"ours, {workers} worker processes"
            rates[label] = len(sample) / (time.perf_counter() - started)
        jieba_rate = rates["jieba ChineseAnalyzer"]
        for name, rate in rates.items():
            print(f"  {name:32s} {rate:8.0f} docs/s   {rate / jieba_rate:5.2f} x jieba")

        print(f"\nfull index: {args.docs:,} documents, {args.workers} worker processes ...")
        ix = SearchIndex(workdir / "full")
        started = time.perf_counter()
        ix.rebuild(docs, workers=args.workers)
        elapsed = time.perf_counter() - started
        print(f"  {args.docs / elapsed:8.0f} docs/s  ({elapsed:.0f} s)")
        print(
            f"  index size {dir_size(workdir / 'full') / 2**20:,.0f} MiB "
            f"({dir_size(workdir / 'full') / args.docs / 1024:.1f} KiB per document)"
        )

        # -- latency with a clerk's access filter
        rng = random.Random(3)
        clerk = AccessFilter(
            departments=frozenset({"SALES"}),
            customers=frozenset(c for c in range(1, 2001) if c % 500 == 7),
            documents=frozenset(rng.sample(range(1, args.docs + 1), 20)),
        )
        visible = [d for d in docs if d.department == "SALES"]
        one = [word(rng) for _ in range(args.queries)]
        two = [f"{word(rng)} {word(rng)}" for _ in range(args.queries)]
        numbers = [rng.choice(visible).numbers[0] for _ in range(args.queries // 2)]
        numbers += [rng.choice(docs).identifiers[0] for _ in range(args.queries // 2)]
        warm = [word(rng) for _ in range(20)]
        for text in warm:  # load per-segment arrays once, as a running service has
            ix.search(SearchQuery(text=text, access=clerk))
        print(
            f"\nlatency, {args.docs:,} documents, clerk's access filter "
            f"(department SALES + {len(clerk.customers)} customers + 20 documents)"
        )
        for name, queries in (
            ("one Chinese word", one),
            ("two Chinese words", two),
            ("exact number", numbers),
        ):
            samples = [
                timed(lambda t=t: ix.search(SearchQuery(text=t, access=clerk))) for t in queries
            ]
            print(f"  {name:20s} {percentiles(samples)}")
        listing = [timed(lambda: ix.search(SearchQuery(text="", access=clerk))) for _ in range(20)]
        print(f"  {'list, by date':20s} {percentiles(listing)}")

        # -- quality on the labelled queries
        everyone = AccessFilter(everything=True)

        def ours(text: str) -> list[int]:
            return [
                h.id for h in ix.search(SearchQuery(text=text, access=everyone, per_page=10)).hits
            ]

        print(
            f"\nquality, {len(labels)} labelled Chinese queries "
            "(recall@10 / precision@10, macro average)"
        )
        r, p, kinds = quality(labels, ours)
        print(f"  {'ours':32s} recall {r:.3f}   precision {p:.3f}")
        for kind, (kr, kp) in kinds.items():
            print(f"    {kind:30s} recall {kr:.3f}   precision {kp:.3f}")
        if not args.no_default_quality:
            print("  building the StandardAnalyzer index of the full corpus ...", flush=True)
            from whoosh.qparser import MultifieldParser

            rate = baseline_docs_per_s(docs, StandardAnalyzer(), workdir / "std-full")
            from whoosh import index as windex

            std = windex.open_dir(str(workdir / "std-full"))
            qp = MultifieldParser(["title", "body", "customer_name"], std.schema)
            with std.searcher() as searcher:

                def default(text: str) -> list[int]:
                    hits = searcher.search(qp.parse(text), limit=10)
                    return [int(h["id"]) for h in hits]

                r, p, kinds = quality(labels, default)
            print(
                f"  {'Whoosh StandardAnalyzer':32s} recall {r:.3f}   precision {p:.3f}"
                f"   (indexed at {rate:.0f} docs/s)"
            )
            for kind, (kr, kp) in kinds.items():
                print(f"    {kind:30s} recall {kr:.3f}   precision {kp:.3f}")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
