"""A realistic transactional-mail HTML shell, shared by the corpus files.

It carries the usual distractors on purpose: CSS colours in <head>, a numeric <title>, a
homepage logo link, a hidden pre-header, a footer with a street address, zip code, year,
unsubscribe/privacy links and a tracking pixel.
"""

SHELL_HEAD = (
    "<!DOCTYPE html><html><head><meta charset='utf-8'><title>Acme 2024 #448812</title>"
    "<style>body{{color:#333333;background:#f5f5f5}} .btn{{background:#1a73e8;color:#ffffff}}"
    " h1{{font-size:24px}} .c{{color:#123456}}</style></head><body>"
    "<div style='display:none;max-height:0;overflow:hidden'>{preheader}</div>"
    "<table width='600' cellpadding='0' style='background:#ffffff'><tr><td style='padding:24px'>"
    "<a href='https://acme.example.com/'><img src='https://acme.example.com/logo.png' alt='Acme'>"
    "</a>"
)
SHELL_FOOT = (
    "</td></tr></table>"
    "<p style='font-size:12px;color:#888888'>© 2024 Acme Inc. · 1600 Main Street, Springfield,"
    " IL 62704 · <a href='https://acme.example.com/unsubscribe?u=8812&amp;t=abcdef1234567890ab"
    "cdef'>Unsubscribe</a> · <a href='https://acme.example.com/privacy'>Privacy</a></p>"
    "<img src='https://t.acme.example.com/open.gif?id=99887766' width='1' height='1'>"
    "</body></html>"
)


def shell(inner: str, preheader: str = "") -> str:
    return SHELL_HEAD.format(preheader=preheader) + inner + SHELL_FOOT
