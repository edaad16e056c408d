"""One text-only and one HTML-only OTP mail per language, each with local distractors.

Each row: (language, subject, text body, text code, HTML inner body, HTML code).
"""

LANGUAGES = [
    (
        "en", "Your Acme verification code",
        "Hi Sam,\n\nUse the code below to finish signing in on 12/03/2024 at 14:05.\n\n"
        "  739204\n\nThis code expires in 10 minutes. If you didn't request it, call us at "
        "+1 (415) 555-0142.\n\nAcme Inc., 500 Howard St, San Francisco, CA 94105",
        "739204",
        "<p>Hello,</p><p>Your order #884213 is almost ready. Enter this one-time code to confirm"
        " it's you:</p><div style='font-size:28px;letter-spacing:6px'><b>562 018</b></div>"
        "<p>Total: $1,249.00</p>",
        "562018",
    ),
    (
        "es", "Tu código de verificación",
        "Hola,\n\nTu código de verificación es: 408117\n\nVálido durante 15 minutos. Fecha: "
        "03/05/2024 10:22.\nSi no fuiste tú, llama al +34 912 345 678.\n\nAcme España S.L., "
        "CIF B12345678, Calle Mayor 1, 28013 Madrid",
        "408117",
        "<p>Hola Ana:</p><p>Para completar tu pedido nº 5520931 por 1.299,00 €, introduce este "
        "código:</p><p style='font-size:24px'><strong>6613</strong></p>",
        "6613",
    ),
    (
        "pt", "Seu código de acesso",
        "Olá,\n\nSeu código de verificação é 820461. Ele expira em 5 minutos.\n\nPedido 99812-4 "
        "no valor de R$ 149,90.\nCentral: (11) 4004-1234\n\nAcme Ltda. CNPJ 12.345.678/0001-90",
        "820461",
        "<p>Olá!</p><p>Use o código abaixo para entrar na sua conta. Ele é válido até "
        "23/11/2024.</p><table><tr><td style='background:#f4f4f4;font-size:32px'>3</td><td>9"
        "</td><td>1</td><td>7</td><td>2</td><td>5</td></tr></table>",
        "391725",
    ),
    (
        "fr", "Votre code de connexion",
        "Bonjour,\n\nVoici votre code de connexion : 275993\n\nCe code est valable 10 minutes. "
        "Commande n° 4452871 du 12 mars 2024.\nService client : 01 23 45 67 89\n\nAcme SAS – "
        "SIRET 123 456 789 00012 – 75008 Paris",
        "275993",
        "<p>Bonjour Marie,</p><p>Saisissez le code suivant pour vérifier votre adresse e-mail :"
        "</p><h2>HX7-42KP</h2><p>Montant de votre dernière facture : 49,99 €</p>",
        "HX7-42KP",
    ),
    (
        "de", "Ihr Bestätigungscode",
        "Hallo,\n\nIhr Bestätigungscode lautet:\n\n  904517\n\nBITTE BEACHTEN: Geben Sie den Code "
        "niemals weiter.\nIhre Bestellnummer: 30211874\nTel.: 030 12345678\n\nAcme GmbH, "
        "Amtsgericht Berlin HRB 123456, USt-IdNr. DE123456789",
        "904517",
        "<p>Hallo,</p><p>BITTE verwenden Sie folgende TAN:</p><p>58104</p><p>Ihre Rechnung vom "
        "01.10.2024 über 39,99 € ist verfügbar.</p>",
        "58104",
    ),
    (
        "it", "Il tuo codice di verifica",
        "Ciao,\n\nil tuo codice di verifica è 612340.\nNon condividerlo con nessuno. Ordine n. "
        "77812345 del 05/06/2024.\nAssistenza: +39 02 1234 5678\n\nAcme S.r.l. P.IVA 01234567890",
        "612340",
        "<p>Gentile cliente,</p><p>Inserisci questo codice per accedere:</p><p style='font-size:"
        "26px;font-weight:bold'>4471</p><p>Sconto del 20% sul prossimo acquisto!</p>",
        "4471",
    ),
    (
        "nl", "Je verificatiecode",
        "Hallo,\n\nJe verificatiecode is 338102.\n\nDeze code is 15 minuten geldig. Bestelnummer "
        "1029384756.\nKlantenservice: 020 123 4567\n\nAcme B.V., KvK 12345678, 1012 AB Amsterdam",
        "338102",
        "<p>Beste klant,</p><p>Gebruik de onderstaande code om in te loggen:</p>"
        "<div class='otp-code'>K2M9QX</div>",
        "K2M9QX",
    ),
    (
        "pl", "Kod weryfikacyjny",
        "Dzień dobry,\n\nTwój kod weryfikacyjny to: 559013\n\nKod jest ważny przez 10 minut. "
        "Zamówienie nr 2024/11/7781.\nInfolinia: 22 123 45 67\n\nAcme Sp. z o.o., NIP "
        "123-456-32-18, KRS 0000123456",
        "559013",
        "<p>Cześć!</p><p>Wpisz ten jednorazowy kod, aby potwierdzić logowanie:</p>"
        "<p><b>803 664</b></p><p>Cena: 129,99 zł</p>",
        "803664",
    ),
    (
        "tr", "Doğrulama kodunuz",
        "Merhaba,\n\nDoğrulama kodunuz: 714205\n\nBu kod 3 dakika geçerlidir. Sipariş numaranız: "
        "554433221.\nMüşteri hizmetleri: 0850 123 45 67\n\nAcme A.Ş., İstanbul",
        "714205",
        "<p>Merhaba,</p><p>Giriş yapmak için tek kullanımlık şifreniz:</p><h1>2968</h1>"
        "<p>Toplam: 1.250,00 TL</p>",
        "2968",
    ),
    (
        "ru", "Код подтверждения",
        "Здравствуйте!\n\nВаш код подтверждения: 381 904\n\nНикому не сообщайте этот код. Заказ № "
        "45012378 от 12.03.2024 на сумму 2 490 руб.\nТелефон поддержки: 8 800 555-35-35\n\n"
        "ООО «Акме», ИНН 7701234567, ОГРН 1027700132195",
        "381904",
        "<p>Привет!</p><p>Для входа в аккаунт введите одноразовый пароль:</p><p style='font-size:"
        "30px;letter-spacing:8px'>Z8K4PT</p><p>Скидка 15% до 31 декабря 2024 года.</p>",
        "Z8K4PT",
    ),
    (
        "uk", "Ваш код для входу",
        "Вітаємо!\n\nВаш код для входу: 640218\n\nКод дійсний 5 хвилин. Замовлення №778899 на "
        "суму 1 250 грн.\nГаряча лінія: 0 800 300 545\n\nТОВ «Акме», ЄДРПОУ 12345678",
        "640218",
        "<p>Привіт!</p><p>Підтвердіть свою адресу, ввівши цей код:</p><h2>503-917</h2>",
        "503917",
    ),
    (
        "ar", "رمز التحقق الخاص بك",
        "مرحباً،\n\nرمز التحقق الخاص بك هو: ٤٨٢٩١٠\n\nلا تشارك هذا الرمز مع أي شخص. رقم الطلب: "
        "99887766\nللاستفسار اتصل على 920012345\n\nشركة أكمي، الرياض 12345",
        "482910",
        "<p>مرحباً،</p><p>استخدم كود التحقق التالي لتسجيل الدخول:</p><p style='font-size:28px'>"
        "<b>۷۳۵۱۹۲</b></p><p>المبلغ: 150 ريال</p>",
        "735192",
    ),
    (
        "fa", "کد تایید",
        "سلام،\n\nکد تایید شما: ۵۸۲۱۴۷\n\nاین کد تا ۲ دقیقه معتبر است. شماره سفارش: ۱۲۳۴۵۶۷۸\n"
        "پشتیبانی: ۰۲۱-۱۲۳۴۵۶۷۸",
        "582147",
        "<p>کاربر گرامی،</p><p>رمز یکبار مصرف شما برای ورود:</p><h1>۹۱۳۰۲۴</h1><p>مبلغ: "
        "۲۵۰٬۰۰۰ تومان</p>",
        "913024",
    ),
    (
        "he", "קוד האימות שלך",
        "שלום,\n\nקוד האימות שלך הוא: 603918\n\nהקוד תקף ל-10 דקות. מספר הזמנה: 4455667\n"
        "שירות לקוחות: 03-1234567",
        "603918",
        "<p>היי,</p><p>הזן את הקוד הבא כדי להתחבר:</p><p style='font-size:24px;font-weight:700'>"
        "7261</p><p>סה\"כ לתשלום: ₪89.90</p>",
        "7261",
    ),
    (
        "hi", "आपका सत्यापन कोड",
        "नमस्ते,\n\nआपका सत्यापन कोड 518274 है।\n\nयह कोड 10 मिनट के लिए मान्य है। ऑर्डर संख्या: "
        "40312345678\nग्राहक सेवा: 1800-123-4567",
        "518274",
        "<p>नमस्ते,</p><p>लॉगिन करने के लिए अपना OTP दर्ज करें:</p><h2>9046</h2><p>कुल राशि: "
        "₹1,499</p>",
        "9046",
    ),
    (
        "bn", "আপনার যাচাইকরণ কোড",
        "হ্যালো,\n\nআপনার যাচাইকরণ কোড: ৭২৯৩০১\n\nএই কোডটি ১০ মিনিটের জন্য বৈধ। অর্ডার নম্বর: "
        "1122334455\nহেল্পলাইন: 16247",
        "729301",
        "<p>প্রিয় গ্রাহক,</p><p>লগইন করতে এই ওটিপি ব্যবহার করুন:</p><p><strong>4 8 1 5 2 6"
        "</strong></p>",
        "481526",
    ),
    (
        "id", "Kode verifikasi Anda",
        "Halo,\n\nKode verifikasi Anda adalah 260493. Jangan berikan kode ini kepada siapa pun.\n\n"
        "Nomor pesanan: INV/2024/11/00123\nTotal: Rp 125.000\nCS: 1500-123",
        "260493",
        "<p>Hai,</p><p>Masukkan kode OTP berikut untuk masuk:</p><div style='font-size:32px;"
        "letter-spacing:10px'>7731</div><p>Promo diskon 50% hingga 31/12/2024.</p>",
        "7731",
    ),
    (
        "vi", "Mã OTP giao dịch",
        "Xin chào,\n\nQuý khách đang thực hiện giao dịch 1533 tại ACB. Mã OTP của quý khách là "
        "572123. Mã có hiệu lực trong 5 phút.\nHotline: 1900 5454 86",
        "572123",
        "<p>Xin chào,</p><p>Mã xác minh của bạn là:</p><p style='font-size:28px'><b>908 145</b>"
        "</p><p>Đơn hàng #DH20241122 trị giá 1.250.000đ</p>",
        "908145",
    ),
    (
        "th", "รหัส OTP ของคุณ",
        "สวัสดีค่ะ\n\nรหัส OTP ของคุณคือ 664208 (Ref: ABCD) รหัสนี้จะหมดอายุใน 5 นาที\n\n"
        "หมายเลขคำสั่งซื้อ: 5566778899\nโทร 02-123-4567",
        "664208",
        "<p>เรียนลูกค้า</p><p>กรุณากรอกรหัสยืนยันด้านล่างเพื่อเข้าสู่ระบบ</p><h1>3019</h1>"
        "<p>ยอดชำระ 1,250 บาท</p>",
        "3019",
    ),
    (
        "zh-hans", "验证码通知",
        "您好，\n\n您的验证码是：836140，5分钟内有效。请勿泄露给他人。\n\n订单号：202411220001\n"
        "客服电话：400-820-8820",
        "836140",
        "<p>尊敬的用户：</p><p>您正在登录，验证码<b>592731</b>，如非本人操作请忽略。</p>"
        "<p>实付金额：¥1,299.00</p>",
        "592731",
    ),
    (
        "zh-hant", "驗證碼通知",
        "您好：\n\n您的驗證碼為 704316，請於10分鐘內輸入。\n\n訂單編號：TW88776655\n"
        "客服專線：(02) 2345-6789",
        "704316",
        "<p>親愛的會員您好，</p><p>請輸入以下驗證碼完成登入：</p><h2>518 902</h2>"
        "<p>統一編號：12345678</p>",
        "518902",
    ),
    (
        "ja", "認証コードのお知らせ",
        "いつもご利用ありがとうございます。\n\n認証コード：247519\n\n有効期限は発行から30分です。"
        "ご注文番号：250-1234567-7654321\nお問い合わせ：0120-123-456",
        "247519",
        "<p>ログイン確認のお知らせ</p><p>以下の確認コードを入力してください（コード K7Q2XN）。</p>"
        "<p>ご請求金額：3,980円</p>",
        "K7Q2XN",
    ),
    (
        "ko", "인증번호 안내",
        "안녕하세요.\n\n인증번호 27961116를 입력해주세요.\n\n주문번호: 202411-334455\n"
        "고객센터 1588-1234",
        "27961116",
        "<p>안녕하세요,</p><p>아래 보안 코드를 입력하여 로그인을 완료하세요.</p>"
        "<p style='font-size:30px'>XQ4K7M</p><p>결제 금액: 12,900원</p>",
        "XQ4K7M",
    ),
    (
        "sv", "Din verifieringskod",
        "Hej,\n\nDin verifieringskod är 491602.\n\nKoden är giltig i 10 minuter. Ordernummer: "
        "7788990011.\nKundtjänst: 08-123 456 78\n\nAcme AB, Org.nr 556677-8899",
        "491602",
        "<p>Hej!</p><p>Använd engångskoden nedan för att logga in:</p><p><strong>5527</strong>"
        "</p><p>Pris: 199 kr</p>",
        "5527",
    ),
    (
        "fi", "Vahvistuskoodi",
        "Hei,\n\nVahvistuskoodisi on 830527.\n\nKoodi on voimassa 10 minuuttia. Tilausnumero "
        "123456789.\nAsiakaspalvelu 09 1234 5678\n\nAcme Oy, Y-tunnus 1234567-8",
        "830527",
        "<p>Hei!</p><p>Syötä tämä kertakäyttökoodi kirjautuaksesi:</p><h1>Q7W-3KD</h1>",
        "Q7W-3KD",
    ),
    (
        "el", "Κωδικός επαλήθευσης",
        "Γεια σας,\n\nΟ κωδικός επαλήθευσης σας είναι 402739.\n\nΙσχύει για 10 λεπτά. Αριθμός "
        "παραγγελίας: 556677.\nΤηλ.: 210 1234567",
        "402739",
        "<p>Γεια!</p><p>Χρησιμοποιήστε τον παρακάτω κωδικό για σύνδεση:</p><p style='font-size:"
        "26px;letter-spacing:4px'>6183</p><p>Σύνολο: 49,90 €</p>",
        "6183",
    ),
    (
        "cs", "Ověřovací kód",
        "Dobrý den,\n\nváš ověřovací kód je 715384.\n\nKód je platný 10 minut. Objednávka č. "
        "2024001234.\nZákaznická linka: +420 123 456 789\n\nAcme s.r.o., IČO 12345678",
        "715384",
        "<p>Ahoj,</p><p>Pro přihlášení zadejte tento jednorázový kód:</p><h2>D4R7-K9PX</h2>",
        "D4R7-K9PX",
    ),
    (
        "ro", "Codul tău de verificare",
        "Bună ziua,\n\nCodul tău de verificare este 926153.\n\nCodul expiră în 10 minute. Comanda "
        "nr. 5566778 din 12.10.2024.\nSuport: 021 123 4567\n\nAcme SRL, CUI RO12345678",
        "926153",
        "<p>Salut,</p><p>Introdu codul de mai jos pentru a te autentifica:</p><p><b>3842</b></p>"
        "<p>Total: 129,99 lei</p>",
        "3842",
    ),
    (
        "hu", "Ellenőrző kód",
        "Kedves Felhasználó!\n\nAz ellenőrző kódod: 183946\n\nA kód 10 percig érvényes. "
        "Rendelésszám: 99001122.\nÜgyfélszolgálat: +36 1 234 5678\n\nAcme Kft., Adószám: "
        "12345678-2-42",
        "183946",
        "<p>Szia!</p><p>Add meg az alábbi egyszer használatos kódot a bejelentkezéshez:</p>"
        "<h1>7290</h1><p>Ár: 4 990 Ft</p>",
        "7290",
    ),
]  # fmt: skip
