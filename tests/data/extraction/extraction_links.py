"""Link-only mails (code None, a link expected) and mails whose only links must be ignored."""

from extraction_shell import shell

LINKS = [
    dict(id="link-text-verify-token", subject="Confirm your email",
         text="Confirm your email address by clicking:\nhttps://app.example.com/verify?token="
         "8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c&amp;email=a%40b.com\n\nUnsubscribe: "
         "https://example.com/unsubscribe?u=123",
         link="https://app.example.com/verify?token=8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c&email=a%40"
         "b.com"),
    dict(id="link-button-tracking-wrapper", subject="Verify your email",
         html=shell("<p>Thanks for signing up!</p><a href='https://u123.ct.sendgrid.net/ls/"
                    "click?upn=aBcD1234EfGh5678IjKl9012MnOp&amp;x=1' style='background-color:"
                    "#4f46e5;padding:12px 24px'>Verify email</a>"),
         link="https://u123.ct.sendgrid.net/ls/click?upn=aBcD1234EfGh5678IjKl9012MnOp&x=1"),
    dict(id="link-magic-login", subject="Sign in to Slack",
         html=shell("<p>Click the button to sign in.</p><a class='button' href='https://slack."
                    "com/z-app-123-456/magic-login/abcDEF123ghiJKL456'>Sign in to Slack</a>"),
         link="https://slack.com/z-app-123-456/magic-login/abcDEF123ghiJKL456"),
    dict(id="link-password-reset", subject="Reset your password",
         html=shell("<p>Someone asked to reset your password.</p><a href='https://example.com/"
                    "reset-password?token=Zx81Kq02Lm93Nn84Pb75' style='background:#000'>Reset "
                    "password</a><p>Didn't ask? <a href='https://example.com/not-me?t=Zx81Kq02Lm"
                    "93Nn84Pb75'>Let us know</a></p>"),
         link="https://example.com/reset-password?token=Zx81Kq02Lm93Nn84Pb75"),
    dict(id="link-kratos-self-service", subject="Please verify your email address",
         text="Hi, please verify your account by clicking the following link:\n\n"
         "https://auth.example.com/self-service/verification?flow=5c1f0b3e-1b4d-4e5a-9a8c-"
         "2f7d6e5c4b3a&token=hJ8kL9mN0pQ1rS2tU3vW4xY5\n",
         link="https://auth.example.com/self-service/verification?flow=5c1f0b3e-1b4d-4e5a-9a8c-"
         "2f7d6e5c4b3a&token=hJ8kL9mN0pQ1rS2tU3vW4xY5"),
    dict(id="link-ghost-members", subject="Secure sign in link for Acme Blog",
         html=shell("<p>Welcome back! Use the button below to securely sign in.</p><a href='"
                    "https://blog.example.com/members/?token=Qm9vX2FzZGZnaGprbDEyMzQ1Njc4&amp;"
                    "action=signin&amp;r=https%3A%2F%2Fblog.example.com%2F' style='background:"
                    "#15212a;padding:10px'>Sign in to Acme Blog</a>"),
         link="https://blog.example.com/members/?token=Qm9vX2FzZGZnaGprbDEyMzQ1Njc4&action=signin"
         "&r=https%3A%2F%2Fblog.example.com%2F"),
    dict(id="link-german-anchor-text", subject="Bitte bestätigen",
         html=shell("<p>Bitte bestätigen Sie Ihre Adresse.</p><a href='https://example.de/"
                    "konto/e/abcdef0123456789abcdef' style='background:#c00'>E-Mail-Adresse "
                    "bestätigen</a>"),
         link="https://example.de/konto/e/abcdef0123456789abcdef"),
    dict(id="link-japanese-anchor-text", subject="メールアドレスの確認",
         html=shell("<p>ご登録ありがとうございます。</p><a href='https://example.jp/r/Ab12Cd34Ef"
                    "56Gh78Ij90'>メールアドレスを確認する</a>"),
         link="https://example.jp/r/Ab12Cd34Ef56Gh78Ij90"),
    dict(id="link-only-unsubscribe-homepage", subject="Newsletter",
         html=shell("<p>Our November newsletter.</p><a href='https://acme.example.com/'>Visit "
                    "us</a> <a href='https://acme.example.com/view-in-browser?id=abc123def456ghi"
                    "789'>View online</a>")),
    dict(id="link-revoke-and-verify", subject="Confirm new device",
         text="Confirm this device:\nhttps://id.example.com/confirm-device/Tq9Zr8Yp7Xo6Wn5Vm4\n\n"
         "Not you? Revoke access:\nhttps://id.example.com/revoke/Tq9Zr8Yp7Xo6Wn5Vm4",
         link="https://id.example.com/confirm-device/Tq9Zr8Yp7Xo6Wn5Vm4"),
    dict(id="link-mailto-only", subject="Questions?",
         html="<p>Reply to <a href='mailto:help@example.com'>help@example.com</a></p>"),
    dict(id="link-angle-brackets", subject="Activate your account",
         text="Activate your account: <https://example.org/activate/7fA9kQ2mX8pL4sW1>",
         link="https://example.org/activate/7fA9kQ2mX8pL4sW1"),
    dict(id="link-wasnt-me-before-verify", subject="Confirm sign-in",
         html=shell("<p>Was this you?</p><a href='https://example.com/security/deny?t=9Hj3Kl5Mn"
                    "7Pq1Rs'>This wasn't me</a> <a href='https://example.com/login/approve?t=9Hj"
                    "3Kl5Mn7Pq1Rs' style='background:#080'>Yes, sign me in</a>"),
         link="https://example.com/login/approve?t=9Hj3Kl5Mn7Pq1Rs"),
    dict(id="link-payment-not-verification", subject="Invoice",
         html=shell("<p>Your invoice is ready.</p><a href='https://pay.example.com/checkout/"
                    "inv_9Kx2Lm4Np6Qr8St0' style='background:#635bff'>Pay invoice</a>")),
    dict(id="link-russian-button", subject="Подтвердите адрес",
         html=shell("<p>Здравствуйте!</p><a href='https://example.ru/u/k3J9sL2pQ8xZ1vB7' "
                    "style='background:#0a0'>Подтвердить e-mail</a>"),
         link="https://example.ru/u/k3J9sL2pQ8xZ1vB7"),
    dict(id="link-login-without-token-ignored", subject="Your code",
         html=shell("<p>Your login code is <b>771205</b></p><a href='https://acme.example.com/"
                    "login'>Log in</a>"), code="771205"),
]  # fmt: skip
