# ruff: noqa: E501
"""Our own hostile-mail corpus: where each payload goes, and the mail that carries it.

Each vector is ``(id, where, payload)``; ``where`` is the part of the message it is
placed in: ``html`` (the HTML body), ``subject``, ``from`` (the From header),
``filename`` (an attachment's name) or ``text`` (the text/plain body). ``{canary}``
stands for an HTTP origin on 127.0.0.1 that counts every request it receives: a
request there means content escaped its sandbox or a remote load was not blocked.
Classes follow research/reliability.md §2.1 and §2.5 (html5sec, OWASP evasion
cheat sheet, Roundcube/Mailpit/MailHog/smtp4dev incidents, mXSS); payloads are ours.
"""

from __future__ import annotations

import base64
from email.header import Header

HTML = [
    ("h-script", "<script>alert(1)</script>"),
    ("h-script-src", '<script src="{canary}/s.js"></script>'),
    ("h-img-onerror", "<img src=x onerror=alert(1)>"),
    ("h-img-onerror-canary", "<img src=x onerror=\"fetch('{canary}/e')\">"),
    ("h-svg-onload", "<svg/onload=alert(1)>"),
    ("h-svg-script", "<svg><script>alert(1)</script></svg>"),
    (
        "h-svg-use-data",
        '<svg><use href="data:image/svg+xml;base64,PHN2ZyBpZD0ieCIgeG1sbnM9Imh0dHA6Ly93d3cudzMub3JnLzIwMDAvc3ZnIj48aW1hZ2UgaHJlZj0ieCIgb25lcnJvcj0iYWxlcnQoMSkiLz48L3N2Zz4=#x"/></svg>',
    ),
    (
        "h-svg-animate-href",
        '<svg><a><animate attributeName="href " values="javascript:alert(1)"/><text x="20" y="20">click</text></a></svg>',
    ),
    ("h-svg-set", '<svg><set attributeName="onmouseover" to="alert(1)"/></svg>'),
    ("h-svg-feimage", '<svg><filter><feImage href="{canary}/fe.png"/></filter></svg>'),
    (
        "h-math",
        "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)></style></mglyph></table></mtext></math>",
    ),
    ("h-a-javascript", '<a href="javascript:alert(1)">click</a>'),
    ("h-a-javascript-entity", '<a href="&#106;avascript:alert(1)">click</a>'),
    ("h-a-javascript-tab", '<a href="java\tscript:alert(1)">click</a>'),
    ("h-a-javascript-space", '<a href=" javascript:alert(1)">click</a>'),
    ("h-a-vbscript", '<a href="vbscript:msgbox(1)">click</a>'),
    ("h-a-data-html", '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">x</a>'),
    ("h-iframe", '<iframe src="{canary}/frame"></iframe>'),
    ("h-iframe-srcdoc", '<iframe srcdoc="&lt;script&gt;alert(1)&lt;/script&gt;"></iframe>'),
    ("h-object", '<object data="{canary}/o.swf"></object>'),
    ("h-embed", '<embed src="{canary}/e.swf">'),
    ("h-form", '<form action="{canary}/f"><input name=q value=x><button>go</button></form>'),
    ("h-formaction", '<button formaction="javascript:alert(1)">x</button>'),
    ("h-meta-refresh", '<meta http-equiv="refresh" content="0;url={canary}/refresh">'),
    ("h-base", '<base href="{canary}/"><a href="x">rel</a><img src="y.png">'),
    ("h-link-css", '<link rel="stylesheet" href="{canary}/style.css">'),
    ("h-style-import", "<style>@import url({canary}/import.css);</style>"),
    ("h-style-import-escaped", "<style>@\\69mport url({canary}/esc.css);</style>"),
    ("h-style-bg", "<style>body{{background:url({canary}/bg.png)}}</style>"),
    ("h-style-attr-url", '<div style="background-image:url({canary}/attr.png)">x</div>'),
    ("h-style-attr-escaped-url", '<div style="background:u\\rl({canary}/esc.png)">x</div>'),
    ("h-style-expression", '<div style="width:expression(alert(1))">x</div>'),
    (
        "h-style-position-fixed",
        '<div style="position:fixed;top:0;left:0;width:100%;height:100%;background:red">overlay</div>',
    ),
    ("h-style-breakout", "<style></style><script>alert(1)</script></style>"),
    ("h-body-onload", "<body onload=alert(1)>x</body>"),
    ("h-details-ontoggle", "<details open ontoggle=alert(1)>x</details>"),
    ("h-marquee", "<marquee onstart=alert(1)>x</marquee>"),
    ("h-input-autofocus", "<input autofocus onfocus=alert(1)>"),
    ("h-video-poster", '<video poster="{canary}/poster.png" src=x onerror=alert(1)></video>'),
    ("h-audio", "<audio src=x onerror=alert(1)></audio>"),
    ("h-remote-img", '<p>tracking</p><img src="{canary}/pixel.gif" width=1 height=1>'),
    ("h-remote-img-protocol-relative", '<img src="//127.0.0.1:1/pr.gif">'),
    (
        "h-srcset",
        '<img srcset="{canary}/srcset.png 1x" src="data:image/gif;base64,R0lGODlhAQABAAAAACw=">',
    ),
    ("h-background-attr", '<table background="{canary}/tbg.png"><tr><td>x</td></tr></table>'),
    (
        "h-data-svg-img",
        '<img src="data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSkgeG1sbnM9Imh0dHA6Ly93d3cudzMub3JnLzIwMDAvc3ZnIi8+">',
    ),
    ("h-noscript-mxss", '<noscript><p title="</noscript><img src=x onerror=alert(1)>">'),
    ("h-template-mxss", "<template><img src=x onerror=alert(1)></template>"),
    ("h-comment-breakout", "<!--><img src=x onerror=alert(1)>-->"),
    ("h-cdata", "<![CDATA[><img src=x onerror=alert(1)>]]>"),
    ("h-xmp", "<xmp><img src=x onerror=alert(1)></xmp>"),
    ("h-textarea", "<textarea><img src=x onerror=alert(1)></textarea>"),
    ("h-title-breakout", "<title><img src=x onerror=alert(1)></title>"),
    (
        "h-roundcube-42009",
        '<body title="bgcolor=foo" name="bar style=animation-name:progress-bar-stripes onanimationstart=alert(1) foo=bar">x</body>',
    ),
    ("h-attr-quote-break", '<a title="x" onmouseover="alert(1)" href="https://ok.example/">x</a>'),
    ("h-uppercase-script", "<ScRiPt>alert(1)</sCrIpT>"),
    ("h-null-byte", "<scr\x00ipt>alert(1)</scr\x00ipt>"),
    ("h-nested-script", "<scr<script>ipt>alert(1)</scr</script>ipt>"),
    ("h-xlink", '<svg><a xlink:href="javascript:alert(1)"><text>x</text></a></svg>'),
    ("h-object-data-js", '<object data="javascript:alert(1)"></object>'),
    ("h-isindex", "<isindex type=image src=1 onerror=alert(1)>"),
    ("h-dom-clobber", "<form id=x name=cookie><img name=body src=x onerror=alert(1)></form>"),
    (
        "h-css-keyframes",
        '<style>@keyframes x{{}}</style><p style="animation-name:x" onanimationstart=alert(1)>x</p>',
    ),
    (
        "h-font-face",
        '<style>@font-face{{font-family:x;src:url({canary}/font.woff)}}</style><p style="font-family:x">x</p>',
    ),
    ("h-cid", '<img src="cid:logo@x"><a href="cid:x">cid</a>'),
    ("h-portal", '<portal src="{canary}/portal"></portal>'),
    ("h-picture-source", '<picture><source srcset="{canary}/source.png"><img src=x></picture>'),
    ("h-ping", '<a href="https://ok.example/" ping="{canary}/ping">x</a>'),
    ("h-svg-image-href", '<svg><image href="{canary}/svgimg.png"/></svg>'),
    ("h-jinja-ssti", "{{{{7*7}}}}{{{{config.items()}}}}"),
]

SUBJECT = [
    ("s-img", "<img src=x onerror=alert(1)>"),
    ("s-script", "<script>alert(1)</script>"),
    ("s-canary", "<img src={canary}/subject.png>"),
    ("s-b-encoded", "=?UTF-8?B?" + base64.b64encode(b"<svg/onload=alert(1)>").decode() + "?="),
    ("s-q-encoded", "=?UTF-8?Q?=3Cimg_src=3Dx_onerror=3Dalert(1)=3E?="),
    ("s-ssti", "{{{{7*7}}}} {{{{config.items()}}}}"),
    ("s-title-breakout", "</title><script>alert(1)</script>"),
]

FROM = [
    ("f-display", '"<img src=x onerror=alert(1)>" <a@b.example>'),
    ("f-encoded", Header("<svg/onload=alert(1)>", "utf-8").encode() + " <a@b.example>"),
    ("f-quoted-local", '"<script>alert(1)</script>"@b.example'),
    ("f-comment", "a@b.example (<img src={canary}/from.png>)"),
    ("f-attr-break", '"x\\" onmouseover=alert(1) y=\\"" <a@b.example>'),
]

FILENAME = [
    ("n-img", "<img src=x onerror=alert(1)>.txt"),
    ("n-html", "invoice.html"),
    ("n-svg", "logo.svg"),
    ("n-rfc2231", "%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E.html"),
    ("n-traversal", "../../../etc/passwd"),
    ("n-crlf", "a.txt\r\nX-Injected: 1"),
]

TEXT = [
    ("t-markup", "Your code: <img src=x onerror=alert(1)> 123456"),
    ("t-autolink-attr", 'Visit http://google.com?"onmouseover="alert(1)" now'),
    ("t-javascript-link", "Click javascript:alert(1) to verify"),
    ("t-pre-breakout", "</pre><script>alert(1)</script><pre>"),
    ("t-canary", "<img src={canary}/text.png>"),
    ("t-ssti", "{{{{7*7}}}} {{{{ config }}}}"),
]

VECTORS: list[tuple[str, str, str]] = (
    [(vid, "html", p) for vid, p in HTML]
    + [(vid, "subject", p) for vid, p in SUBJECT]
    + [(vid, "from", p) for vid, p in FROM]
    + [(vid, "filename", p) for vid, p in FILENAME]
    + [(vid, "text", p) for vid, p in TEXT]
)


def render(payload: str, canary: str) -> str:
    return payload.format(canary=canary)


def vector_mail(vector: tuple[str, str, str], to: str, canary: str) -> bytes:
    """A complete RFC 5322 message carrying the vector in its place."""
    vid, where, raw_payload = vector
    payload = render(raw_payload, canary)
    subject = payload if where == "subject" else f"vector {vid}"
    sender = payload if where == "from" else "Sender <sender@example.com>"
    head = (
        f"From: {sender}\r\nTo: {to}\r\nSubject: {subject}\r\n"
        f"Message-ID: <{vid}@corpus.test>\r\nMIME-Version: 1.0\r\n"
    )
    if where == "html":
        body = payload.encode()
        return (head + "Content-Type: text/html; charset=utf-8\r\n\r\n").encode() + body + b"\r\n"
    if where == "filename":
        name = f"filename*=UTF-8''{payload}" if vid == "n-rfc2231" else f'filename="{payload}"'
        content_type = {"n-html": "text/html", "n-svg": "image/svg+xml"}.get(vid, "text/plain")
        content = base64.b64encode(
            b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>'
            if vid == "n-svg"
            else b"<script>alert(1)</script>"
        ).decode()
        return (
            head + 'Content-Type: multipart/mixed; boundary="b1"\r\n\r\n'
            "--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nsee attachment\r\n"
            f"--b1\r\nContent-Type: {content_type}\r\nContent-Disposition: attachment; {name}\r\n"
            f"Content-Transfer-Encoding: base64\r\n\r\n{content}\r\n--b1--\r\n"
        ).encode()
    text = payload if where == "text" else "plain body"
    return (head + "Content-Type: text/plain; charset=utf-8\r\n\r\n" + text + "\r\n").encode()
