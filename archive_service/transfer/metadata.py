"""A transferred document's metadata as XML: the element names of DA/T 46-2009 (文书类电子
文件元数据方案) where they fit, in the envelope of DA/T 48-2009 (基于XML的电子文件封装规范).

The envelope is not signed element by element (DA/T 48's 电子签名块 and 锁定签名): the
package's Ed25519 signature over its manifest covers this file through its digests.
Elements with no value are left out; what DA/T 46 has no element for (facts, retention
code and authority, holds) is in 附注 as text and in full in ``metadata.json``.
"""

from __future__ import annotations

from typing import Any
from xml.etree import ElementTree as ET

ENVELOPE = "基于 DA/T 48-2009 的电子文件封装包；元数据元素取自 DA/T 46-2009"
RETENTION_ZH = {"permanent": "永久", "long": "30年", "medium": "10年", "short": "5年"}


def _add(parent: ET.Element, tag: str, value: Any = None) -> ET.Element:
    el = ET.SubElement(parent, tag)
    if value is not None:
        el.text = str(value)
    return el


def _opt(parent: ET.Element, tag: str, value: Any) -> None:
    if value not in (None, "", [], {}):
        _add(parent, tag, value)


def metadata_xml(
    meta: dict[str, Any], history: list[dict[str, Any]], head: dict[str, Any]
) -> bytes:
    root = ET.Element("电子文件封装包")
    _add(root, "封装包格式描述", ENVELOPE)
    _add(root, "版本", "1")
    signed = _add(root, "被签名对象")
    _add(signed, "封装包类型", "原始型")
    _add(signed, "封装包类型描述", "移交")
    _add(signed, "封装包创建时间", head["created_at"])
    _add(signed, "封装包创建单位", head["sender"])
    content = _add(_add(signed, "封装内容"), "文件实体块")
    entity = _add(content, "文件实体")
    _add(entity, "聚合层次", "文件")
    source = _add(entity, "来源")
    _add(source, "立档单位名称", head["sender"])
    _add(source, "全宗号", meta["fonds"])
    _add(entity, "电子文件号", f"{head['package_id']}/{meta['source']['id']}")
    number = meta["archive_number"]
    _add(entity, "档号", number)
    _add(entity, "全宗号", meta["fonds"])
    if meta["filing_date"]:
        _add(entity, "年度", meta["filing_date"][:4])
    retention = meta["retention"]["code"] or meta["retention_class"]
    _add(entity, "保管期限", retention)
    _add(entity, "类别号", meta["category"]["letter"])
    desc = _add(entity, "内容描述")
    _add(desc, "题名", meta["title"])
    _opt(desc, "关键词", "；".join(meta["tags"]))
    _add(desc, "分类号", meta["category"]["code"])
    _add(desc, "责任者", meta["customer"]["name"])
    _opt(desc, "日期", meta["document_date"])
    notes = [
        f"类别：{meta['category']['name_zh']}",
        f"保管期限：{RETENTION_ZH.get(meta['retention_class'], meta['retention_class'])}",
    ]
    authority = meta["retention"].get("authority")
    if authority:
        notes.append(f"保管期限依据：{authority['zh']}")
    if meta["disposal_date"]:
        notes.append(f"到期日期：{meta['disposal_date']}")
    if meta["holds"]:
        notes.append("冻结：" + "；".join(h["name"] for h in meta["holds"]))
    for name, value in sorted(meta["facts"].items()):
        notes.append(f"{name}：{value}")
    for earlier in meta["earlier_numbers"]:
        notes.append(f"曾用档号：{earlier['number']}")
    _add(desc, "附注", "\n".join(notes))
    form = _add(entity, "形式特征")
    _add(form, "件数", len(meta["versions"]))
    _add(form, "语种", "汉语")
    place = _add(entity, "存储位置")
    current = meta["versions"][-1] if meta["versions"] else None
    if current:
        _add(place, "当前位置", current["path"])
    for v in meta["versions"]:
        attrs = _add(entity, "电子属性")
        _add(attrs, "格式信息", v["content_type"])
        _add(attrs, "计算机文件名", v["filename"])
        _add(attrs, "计算机文件大小", v["size"])
        digest = _add(attrs, "数字摘要", v["sha256"])
        digest.set("算法", "SHA-256")
        _add(attrs, "版本", v["number"])
    business = _add(entity, "业务实体块")
    for ev in history:
        act = _add(business, "业务实体")
        _add(act, "业务状态", "归档" if ev["action"] == "document.accept" else "历史行为")
        _add(act, "业务行为", ev["action"])
        _add(act, "行为时间", ev["at"])
        _add(act, "行为描述", ev["actor"] or "system")
    people = _add(entity, "机构人员实体块")
    person = _add(people, "机构人员实体")
    _add(person, "机构人员类型", "单位")
    _add(person, "机构人员名称", meta["customer"]["name"])
    _opt(person, "组织机构代码", meta["customer"].get("credit_code"))
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)
