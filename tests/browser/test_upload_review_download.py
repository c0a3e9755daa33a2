"""Issue walk-through in a real browser: a clerk drops five files (Chinese names) into a
customer's archive, an archivist accepts them, the clerk downloads them byte-identical,
and a clerk of another department cannot see them."""

from __future__ import annotations

import hashlib
import re
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests import samples
from tests.browser.conftest import sign_in
from tests.conftest import PASSWORD, People

pytestmark = pytest.mark.slow


def test_clerk_uploads_archivist_accepts_clerk_downloads(
    live_server: Any, live_people: People, browser: Any, tmp_path: Path
) -> None:
    base, _rt = live_server
    live_people.department("FIN", "财务部")
    live_people.user("clara", "clerk", department="SALES")
    live_people.user("carl", "clerk", department="FIN")
    live_people.user("arch1", "archivist", department="OPS")
    files = {
        "营业执照副本.pdf": samples.pdf("licence"),
        "组织机构图.png": samples.png(8, 8),
        "客户拜访记录.txt": "2024年3月拜访华夏贸易，洽谈续约。".encode(),
        "授信评估报告.docx": samples.docx("授信评估"),
        "往来对账单.csv": "日期,金额\n2024-01-05,1200.00\n".encode(),
    }
    paths = []
    for name, data in files.items():
        p = tmp_path / name
        p.write_bytes(data)
        paths.append(p)

    # The clerk opens a customer's archive.
    clerk = sign_in(browser, base, "clara", PASSWORD)
    clerk.click(".mainnav >> text=客户")
    clerk.click("text=新建客户档案")
    clerk.fill("#name", "华夏贸易有限公司")
    clerk.select_option("#customer_type", "enterprise")
    clerk.select_option("#tier", "ordinary")
    clerk.fill("#phone", "021-55550101")
    clerk.click("button[type=submit].primary")
    clerk.wait_for_selector("text=客户档案已建立")
    customer_url = clerk.url
    # The owning department's clerk sees the customer's contact details.
    assert clerk.locator("dd", has_text="021-55550101").count() == 1

    # Five files at once; each gets its own progress bar and result.
    clerk.select_option("#category", "basic.profile")
    clerk.select_option("#retention_class", "short")
    clerk.set_input_files("#file-input", [str(p) for p in paths])
    # (Our CSP forbids eval, so wait with locators rather than page functions.)
    expect(clerk.locator("#upload-list li.ok")).to_have_count(5, timeout=30000)
    assert clerk.locator("#upload-list li.failed").count() == 0
    assert clerk.locator("#upload-list progress").count() == 5

    # A file that is not what its name says is refused, visibly.
    fake = tmp_path / "合同扫描件.pdf"
    fake.write_bytes(samples.windows_exe())
    clerk.set_input_files("#file-input", str(fake))
    clerk.wait_for_selector("#upload-list li.failed")
    assert "not allowed" in clerk.locator("#upload-list li.failed .state").inner_text()

    # The archivist sees them in the review queue and accepts each.
    archivist = sign_in(browser, base, "arch1", PASSWORD)
    archivist.click("text=待审核")
    for name in files:
        assert archivist.locator(f"text={name}").count() == 1
    for _ in files:
        archivist.locator("button:has-text('接收')").first.click()
        archivist.wait_for_selector("text=已接收，档号")
    assert archivist.locator("text=暂无待办").count() == 1

    # The clerk sees numbers of the default shape and disposal dates by the tier rule.
    clerk.goto(customer_url)
    numbers = clerk.locator("td code").all_inner_texts()
    year = date.today().year
    assert sorted(numbers) == [f"K001{year}{i:02d}" for i in range(1, 6)]
    five_years = date.today().replace(year=year + 5).isoformat()
    assert clerk.locator(f"text={five_years}").count() == 5

    # Each downloads byte-identical.
    links = clerk.locator("table.grid a").all()
    hrefs = [link.get_attribute("href") for link in links]
    downloaded = {}
    for href in hrefs:
        clerk.goto(base + href)
        with clerk.expect_download() as info:
            clerk.click("#download")
        download = info.value
        downloaded[download.suggested_filename] = Path(download.path()).read_bytes()
    assert {k: hashlib.sha256(v).hexdigest() for k, v in downloaded.items()} == {
        k: hashlib.sha256(v).hexdigest() for k, v in files.items()
    }

    # The reading is on the document's own register.
    clerk.goto(base + hrefs[0])
    assert clerk.locator("text=clara").count() >= 1

    # A clerk of another department sees none of it, by list or by URL.
    other = sign_in(browser, base, "carl", PASSWORD)
    other.goto(base + "/customers")
    assert other.locator("text=华夏贸易有限公司").count() == 0
    for url in [customer_url, base + hrefs[0], base + hrefs[0] + "/file"]:
        response = other.goto(url)
        assert response is not None and response.status == 404, url
    assert re.search(r"/customers/\d+$", customer_url)
