"""Staff's public replies: hostile HTML comes out harmless, the allowed markup stays, links are marked
nofollow, the length limit refuses in the reader's language, and the plain-text version reads well."""
from __future__ import annotations

import re

import pytest
from flask_babel import force_locale

from portal.reports import reply_templates
from portal.reports.rich_text import ReplyTooLong, clean, to_text

HOSTILE = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
    "<img src=x onerror=alert(1)>",
    '<p onclick="alert(1)" onmouseover=alert(1)>点我</p>',
    '<a href="javascript:alert(1)">链接</a>',
    '<a href="JaVaScRiPt:alert(1)">链接</a>',
    '<a href="&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;alert(1)">链接</a>',
    '<a href="&#x6A;avascript&colon;alert(1)">链接</a>',
    '<a href="java\tscript:alert(1)">链接</a>',
    '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">链接</a>',
    '<a href="vbscript:msgbox(1)">链接</a>',
    "<style>body{background:url(javascript:alert(1))}</style>",
    '<p style="background:url(javascript:alert(1))">样式</p>',
    '<iframe src="https://evil.example"></iframe>',
    '<iframe srcdoc="<script>alert(1)</script>"></iframe>',
    "<svg onload=alert(1)><script>alert(1)</script></svg>",
    '<svg><a xlink:href="javascript:alert(1)"><text>t</text></a></svg>',
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    '<noscript><p title="</noscript><img src=x onerror=alert(1)>"></noscript>',
    "<scr<script>ipt>alert(1)</scr</script>ipt>",
    "<<script>script>alert(1)<</script>/script>",
    '<object data="javascript:alert(1)"></object><embed src="javascript:alert(1)">',
    '<form action="javascript:alert(1)"><button>提交</button></form>',
    "<p>未闭合 <b>粗体 <a href=\"https://hz.example.gov.cn\">链接",
    '<base href="javascript:alert(1)//"><meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
    "<!--<script>alert(1)</script>-->",
    '<div><img src="x" onerror="alert(1)"/></div>',
    '<a href="https://ok.example" onclick="alert(1)" target="_blank" style="color:red">好链接</a>',
]
# What no cleaned reply may contain, in any case.
FORBIDDEN = re.compile(r"<\s*(script|style|iframe|svg|math|img|object|embed|form|button|base|meta|div|noscript)"
                       r"|\son\w+\s*=|javascript:|vbscript:|data:|style\s*=|target\s*=", re.I)


@pytest.mark.parametrize("html", HOSTILE)
def test_hostile_html_comes_out_harmless(html):
    cleaned = clean(html)
    assert not FORBIDDEN.search(cleaned), cleaned
    # Cleaning what is clean changes nothing: no second pass could bring anything back.
    assert clean(cleaned) == cleaned


def test_script_and_style_content_is_removed_not_shown():
    cleaned = clean("<p>已处理<script>alert('偷 cookie')</script><style>p{color:red}</style>完毕</p>")
    assert cleaned == "<p>已处理完毕</p>"


def test_svg_and_iframe_content_is_removed_with_them():
    assert clean("前<svg><text>矢量文字</text></svg>后") == "前后"
    assert clean("前<iframe>框架内容</iframe>后") == "前后"


def test_entity_encoded_javascript_link_loses_its_link_but_keeps_its_text():
    assert clean('<a href="&#106;avascript:alert(1)">详情</a>') == "详情"


def test_text_that_looks_like_a_tag_stays_text():
    assert clean("1 &lt; 2，<b>&lt;script&gt;</b>") == "1 &lt; 2，<b>&lt;script&gt;</b>"


def test_the_allowed_markup_is_kept():
    html = ("<p>您好，<strong>已办结</strong>，<em>谢谢</em>。<br>第二行<b>粗</b><i>斜</i></p>"
            "<ul><li>一</li><li>二</li></ul><ol><li>甲</li></ol><blockquote>引用</blockquote>")
    assert clean(html) == html


def test_unclosed_tags_are_closed():
    assert clean("<p>未闭合 <strong>粗体") == "<p>未闭合 <strong>粗体</strong></p>"


def test_every_link_gets_nofollow_noopener_and_loses_other_attributes():
    cleaned = clean('<a href="https://hz.example.gov.cn/notice" target="_blank" rel="opener" title="t">公告</a>')
    assert cleaned == '<a href="https://hz.example.gov.cn/notice" rel="nofollow noopener">公告</a>'


def test_plain_addresses_become_links_too():
    cleaned = clean("<p>详见 https://hz.example.gov.cn/a?b=1 或写信至 hbj@hz.example.gov.cn</p>")
    assert '<a href="https://hz.example.gov.cn/a?b=1" rel="nofollow noopener">' in cleaned
    assert '<a href="mailto:hbj@hz.example.gov.cn" rel="nofollow noopener">hbj@hz.example.gov.cn</a>' in cleaned


def test_an_address_inside_chinese_text_is_linked_without_the_chinese_around_it():
    assert clean("详见https://hz.example.gov.cn/n。谢谢") == \
        '详见<a href="https://hz.example.gov.cn/n" rel="nofollow noopener">https://hz.example.gov.cn/n</a>。谢谢'
    assert clean("请写信到hbj@hz.example.gov.cn，我们会回复。") == \
        '请写信到<a href="mailto:hbj@hz.example.gov.cn" rel="nofollow noopener">hbj@hz.example.gov.cn</a>，我们会回复。'
    assert clean("（见 www.example.com/a?b=1。）").startswith(
        '（见 <a href="http://www.example.com/a?b=1" rel="nofollow noopener">')


def test_only_http_https_and_mailto_links_stay():
    assert clean('<a href="mailto:a@hz.example.gov.cn">写信</a>') == \
        '<a href="mailto:a@hz.example.gov.cn" rel="nofollow noopener">写信</a>'
    for href in ("ftp://files.example/x", "/admin/reports", "//evil.example/x", "tel:12345"):
        assert clean(f'<a href="{href}">链接</a>') == "链接"


def test_a_reply_over_the_limit_is_refused_with_a_translated_message(app):
    app.config["REPLY_MAX_LENGTH"] = 10
    assert clean("<p><strong>十个字的答复正好十</strong></p>")  # markup does not count
    with pytest.raises(ReplyTooLong) as refusal:
        clean("<p>这条答复有十一个字了。</p>")
    assert isinstance(refusal.value, ValueError)
    assert "最多 10 字" in str(refusal.value)
    with app.test_request_context(), force_locale("en"):
        assert "at most 10 characters" in str(refusal.value)


def test_the_default_limit_is_5000_characters(app):
    assert app.config["REPLY_MAX_LENGTH"] == 5000
    assert clean("水" * 5000)
    with pytest.raises(ReplyTooLong):
        clean("水" * 5001)


def test_a_mountain_of_markup_is_refused_before_parsing():
    with pytest.raises(ReplyTooLong):
        clean("<b></b>" * 20_000, limit=100)


def test_plain_text_renders_paragraphs_lists_and_links():
    html = ('<p>您好，<strong>问题已处理</strong>。<br>详见 <a href="https://hz.example.gov.cn/n">公告</a>。</p>'
            "<ol><li>停止排放</li><li>清理河道</li></ol><ul><li>复查</li></ul>"
            "<blockquote>原举报内容</blockquote><p>来信：hbj@hz.example.gov.cn，网址 https://hz.example.gov.cn</p>")
    assert to_text(html) == (
        "您好，问题已处理。\n"
        "详见 公告 (https://hz.example.gov.cn/n)。\n"
        "\n"
        "1. 停止排放\n"
        "2. 清理河道\n"
        "\n"
        "- 复查\n"
        "\n"
        "> 原举报内容\n"
        "\n"
        "来信：hbj@hz.example.gov.cn，网址 https://hz.example.gov.cn"
    )


def test_plain_text_has_no_markup_and_resolves_entities():
    assert to_text("<p>A &amp; B &lt;C&gt;</p><script>alert(1)</script>") == "A & B <C>"
    assert to_text("") == ""


def test_every_report_type_has_reply_templates_by_default(app):
    from portal.registry.vocabulary import REPORT_CATEGORIES

    for code in REPORT_CATEGORIES.codes():
        templates = reply_templates.templates_for(code)
        assert templates, code
        assert all(entry["title"].strip() and entry["text"].strip() for entry in templates)
    assert reply_templates.templates_for("no_such_type") == []


def test_reply_templates_follow_the_setting(app):
    app.config["REPLY_TEMPLATES"] = {"dead_fish": [{"title": "已打捞", "text": "死鱼已打捞。"}]}
    assert reply_templates.templates_for("dead_fish") == [{"title": "已打捞", "text": "死鱼已打捞。"}]
    assert reply_templates.templates_for("signboard") == []


@pytest.mark.parametrize("templates, complaint", [
    ({"fish": [{"title": "t", "text": "x"}]}, "'fish'"),
    ({"dead_fish": [{"title": "", "text": "x"}]}, "title"),
    ({"dead_fish": [{"title": "t"}]}, "text"),
    ({"dead_fish": "已打捞"}, "列表"),
    (["已打捞"], "字典"),
])
def test_wrong_reply_templates_stop_start_up(app, templates, complaint):
    from portal import create_app
    from portal.config import ConfigError

    with pytest.raises(ConfigError, match="REPLY_TEMPLATES") as refusal:
        create_app({**app.config, "REPLY_TEMPLATES": templates})
    assert complaint in str(refusal.value)
