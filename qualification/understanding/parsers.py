from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

import phonenumbers
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator, URLValidator


@dataclass(frozen=True)
class ParseResult:
    ok: bool
    value: Any = None
    display: str = ""
    reason: str | None = None
    extra: dict = field(default_factory=dict)


def fold(text: str) -> str:
    """Lowercase without accents: «Hostelería» → «hosteleria»."""
    text = unicodedata.normalize("NFKD", (text or "").lower())
    return "".join(ch for ch in text if not unicodedata.combining(ch))


def _fail(reason: str) -> ParseResult:
    return ParseResult(False, None, "", reason)


# --- money ----------------------------------------------------------------------

_UNITS = {"cero": 0, "un": 1, "uno": 1, "una": 1, "dos": 2, "tres": 3, "cuatro": 4, "cinco": 5, "seis": 6, "siete": 7,
          "ocho": 8, "nueve": 9, "diez": 10, "once": 11, "doce": 12, "trece": 13, "catorce": 14, "quince": 15,
          "dieciseis": 16, "diecisiete": 17, "dieciocho": 18, "diecinueve": 19, "veinte": 20, "veintiuno": 21,
          "veintidos": 22, "veintitres": 23, "veinticuatro": 24, "veinticinco": 25, "treinta": 30, "cuarenta": 40,
          "cincuenta": 50, "sesenta": 60, "setenta": 70, "ochenta": 80, "noventa": 90, "cien": 100, "ciento": 100,
          "doscientos": 200, "trescientos": 300, "cuatrocientos": 400, "quinientos": 500, "seiscientos": 600,
          "setecientos": 700, "ochocientos": 800, "novecientos": 900,
          "doscientas": 200, "trescientas": 300, "cuatrocientas": 400, "quinientas": 500, "seiscientas": 600,
          "setecientas": 700, "ochocientas": 800, "novecientas": 900}
_UNKNOWN = re.compile(r"\b(no (lo )?se|ni idea|no tengo ni idea|depende|no estoy segur[oa])\b")
_NUMBER = re.compile(r"(\d{1,3}(?:[.\s]\d{3})+(?:,\d+)?|\d+(?:[.,]\d+)?)\s*(k|mil|m|millones?)?\b")
_YEAR = re.compile(r"\b(al|por|cada|/)\s*(ano|anual)|anual(es|mente)?\b")


def _to_number(raw: str) -> float:
    raw = raw.replace(" ", "")
    if re.fullmatch(r"\d{1,3}(\.\d{3})+(,\d+)?", raw):
        raw = raw.replace(".", "").replace(",", ".")
    elif "," in raw and "." not in raw:
        raw = raw.replace(",", ".")
    elif re.fullmatch(r"\d+\.\d{3}", raw):
        raw = raw.replace(".", "")
    return float(raw)


def _words_to_number(text: str) -> float | None:
    tokens = re.findall(r"[a-z]+", text)
    total, current, seen = 0, 0, False
    for token in tokens:
        if token == "y":
            continue
        if token in _UNITS:
            current += _UNITS[token]
            seen = True
        elif token == "mil":
            total += (current or 1) * 1000
            current = 0
            seen = True
        elif seen and token not in ("euros", "euro", "al", "mes", "mensuales", "de", "unos", "unas", "sobre"):
            break
    return float(total + current) if seen else None


def _clean(value: float) -> int | float:
    return int(value) if float(value).is_integer() else round(value, 2)


def parse_money(text: str) -> ParseResult:
    t = fold(text)
    if _UNKNOWN.search(t):
        return _fail("No pasa nada si no lo tienes claro: dime una cifra aproximada al mes (por ejemplo, «unos 500 €»).")
    amounts = []
    for m in _NUMBER.finditer(t):
        value = _to_number(m.group(1))
        unit = m.group(2)
        if unit in ("k", "mil"):
            value *= 1000
        elif unit and unit.startswith("m") and unit != "mil":
            value *= 1_000_000
        amounts.append(value)
    if not amounts:
        worded = _words_to_number(t)
        if worded is not None:
            amounts = [worded]
    if not amounts:
        return _fail("No he encontrado una cantidad. ¿Cuántos euros al mes, aproximadamente?")
    extra: dict = {}
    if len(amounts) >= 2 and re.search(r"\bentre\b|\bde\b.*\ba\b|-|\by\b", t):
        low, high = sorted(amounts[:2])
        value = (low + high) / 2
        extra["range"] = [_clean(low), _clean(high)]
    else:
        value = amounts[0]
    if _YEAR.search(t):
        extra["period"] = "year"
        extra["yearly"] = _clean(value)
        value = value / 12
    if value < 0:
        return _fail("El presupuesto no puede ser negativo.")
    value = _clean(value)
    return ParseResult(True, value, f"{value:,.0f} €/mes".replace(",", "."), None, extra)


# --- contact data -----------------------------------------------------------------

_EMAIL_FIND = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", re.UNICODE)
_email_validator = EmailValidator()


def parse_email(text: str) -> ParseResult:
    found = _EMAIL_FIND.search(text or "")
    if not found:
        if "@" not in (text or ""):
            return _fail("Ese correo no parece válido: falta la @.")
        return _fail("Ese correo no parece válido: revisa lo que va después de la @ (por ejemplo, nombre@empresa.es).")
    email = found.group(0).strip(".").lower()
    try:
        _email_validator(email)
    except ValidationError:
        return _fail("Ese correo no parece válido. ¿Puedes revisarlo?")
    return ParseResult(True, email, email)


_PHONE_FIND = re.compile(r"(?:\+|00)?\d[\d\s().-]{6,}\d")
_DECLINE_OPTIONAL = re.compile(r"\b(prefiero no|no tengo|no quiero|paso|ninguno|ninguna|sin web|todavia no|aun no|no)\b")


def parse_phone(text: str) -> ParseResult:
    found = _PHONE_FIND.search(text or "")
    if not found:
        return _fail("No he encontrado un teléfono. Escríbelo con prefijo si no es español (por ejemplo, +34 612 34 56 78).")
    raw = found.group(0)
    if raw.startswith("00"):
        raw = "+" + raw[2:]
    try:
        number = phonenumbers.parse(raw, "ES")
    except phonenumbers.NumberParseException:
        return _fail("Ese teléfono no parece válido. ¿Lo revisas?")
    if not phonenumbers.is_valid_number(number):
        return _fail("Ese teléfono no parece válido: revisa que tenga todas las cifras.")
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return ParseResult(True, e164, phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL))


_URL_FIND = re.compile(r"(?:https?://)?(?:www\.)?[a-z0-9][a-z0-9-]*(?:\.[a-z0-9-]+)*\.[a-z]{2,}(?:/[^\s]*)?", re.IGNORECASE)
_url_validator = URLValidator(schemes=["http", "https"])


def parse_url(text: str, *, required: bool) -> ParseResult:
    t = fold(text)
    candidates = [m.group(0) for m in _URL_FIND.finditer(text or "") if "@" not in m.group(0)]
    if not candidates:
        if not required and _DECLINE_OPTIONAL.search(t):
            return ParseResult(True, None, "sin web")
        return _fail("No he encontrado una dirección web. Escríbela así: miweb.com (o dime «no tengo»).")
    url = candidates[0].rstrip(".,;)")
    if not url.lower().startswith(("http://", "https://")):
        url = "https://" + url
    scheme, _, rest = url.partition("://")
    host, slash, path = rest.partition("/")
    url = f"{scheme.lower()}://{host.lower()}{slash}{path}"
    try:
        _url_validator(url)
    except ValidationError:
        return _fail("Esa dirección web no parece válida. ¿La revisas?")
    return ParseResult(True, url, url)


# --- choices, numbers, text, consent --------------------------------------------------

_YES = re.compile(r"^\s*(si|sí|vale|ok|okay|de acuerdo|acepto|claro|por supuesto|adelante|perfecto|sin problema|yes|sure|bien|me parece bien|correcto)\b")
_NO = re.compile(r"^\s*(no|nop|no acepto|prefiero no|para nada|no gracias|no, gracias)\b")


def parse_consent(text: str) -> ParseResult:
    t = fold(text).strip(" ¡!¿?.")
    if _NO.search(t):
        return ParseResult(True, False, "no")
    if _YES.search(t) or "acepto" in t:
        return ParseResult(True, True, "sí")
    return _fail("Necesito un «sí» o un «no» para seguir: ¿aceptas que guarde tus datos para preparar tu propuesta?")


def _choice_keys(choice: dict) -> list[str]:
    keys = [choice["value"], *(choice.get("label") or {}).values(), *choice.get("synonyms", [])]
    return [fold(k).replace("_", " ") for k in keys if k]


def _match_choices(question: dict, text: str) -> list[str]:
    t = " " + re.sub(r"[^\w]+", " ", fold(text)) + " "
    choices = question.get("choices") or []
    number = re.fullmatch(r"\s*(?:la |el |opcion )?(\d{1,2})\s*", fold(text))
    if number and 1 <= int(number.group(1)) <= len(choices):
        return [choices[int(number.group(1)) - 1]["value"]]
    found: list[tuple[int, str]] = []
    for choice in choices:
        best = None
        for key in _choice_keys(choice):
            k = re.sub(r"[^\w]+", " ", key).strip()
            if not k:
                continue
            pos = t.find(" " + k + " ")
            if pos >= 0 and (best is None or pos < best):
                best = pos
        if best is not None:
            found.append((best, choice["value"]))
    return [value for _, value in sorted(found)]


def _choice_labels(question: dict, lang: str = "es") -> str:
    return ", ".join((c.get("label") or {}).get(lang) or c["value"] for c in question.get("choices") or [])


def parse_choice(question: dict, text: str, *, multi: bool) -> ParseResult:
    values = _match_choices(question, text)
    if not values:
        return _fail(f"No he reconocido la opción. Elige entre: {_choice_labels(question)}.")
    if multi:
        return ParseResult(True, list(dict.fromkeys(values)), ", ".join(values))
    return ParseResult(True, values[0], values[0])


def parse_number(question: dict, text: str) -> ParseResult:
    m = re.search(r"-?\d+(?:[.,]\d+)?", text or "")
    if not m:
        return _fail("Necesito un número.")
    value = _clean(_to_number(m.group(0)))
    return ParseResult(True, value, str(value))


def _title(name: str) -> str:
    small = {"de", "del", "la", "las", "los", "y", "e", "da", "van", "von"}
    words = name.split()
    return " ".join(w if (i and w.lower() in small) else (w[:1].upper() + w[1:].lower() if w.islower() or w.isupper() else w)
                    for i, w in enumerate(words))


_NAME_PATTERNS = [
    re.compile(r"(?:\b(?:soy|me llamo|mi nombre es|aqui|aquí|i am|my name is|this is)|\bi'm)\s+([A-Za-zÁÉÍÓÚÜÑáéíóúüñ]+(?:\s+[A-Za-zÁÉÍÓÚÜÑáéíóúüñ]+){0,3}?)(?=\s*(?:,|\.|;|\by\b|\bde\b|\bdel\b|\ben\b|\btrabajo\b|$))", re.IGNORECASE),
]
_COMPANY_PATTERNS = [
    re.compile(r"\b(?:mi empresa (?:es|se llama)|la empresa (?:es|se llama)|trabajo en|de la empresa|empresa)\s+([^,.;\n]+?)(?=\s*(?:,|\.|;|\ben\b|$))", re.IGNORECASE),
    re.compile(r"\b(?:soy|me llamo)\s+[^,]+?,?\s+(?:de|del)\s+([^,.;\n]+?)(?=\s*(?:,|\.|;|\ben\b|$))", re.IGNORECASE),
]


def parse_text(question: dict, text: str) -> ParseResult:
    value = (text or "").strip()
    v = question.get("validation") or {}
    field_name = question["field"]
    if field_name == "name":
        for pattern in _NAME_PATTERNS:
            m = pattern.search(value)
            if m:
                value = m.group(1)
                break
        value = _title(value.strip(" .,!¡"))
    elif field_name == "company":
        for pattern in _COMPANY_PATTERNS:
            m = pattern.search(value)
            if m:
                value = m.group(1)
                break
        value = value.strip(" .,!¡")
    if len(value) < v.get("min_length", 1):
        return _fail("Es un poco corto, ¿me das algo más de detalle?")
    if len(value) > v.get("max_length", 2000):
        return _fail(f"Es demasiado largo: como mucho {v['max_length']} caracteres.")
    if v.get("pattern") and not re.fullmatch(v["pattern"], value):
        return _fail("No tiene el formato esperado.")
    return ParseResult(True, value, value)


def parse_answer(question: dict, text: str, *, locale: str = "es") -> ParseResult:
    kind = question["type"]
    text = (text or "").strip()
    if not text:
        return _fail("No me ha llegado ninguna respuesta.")
    optional = not question.get("required", True)
    if optional and kind in ("phone", "email") and _DECLINE_OPTIONAL.search(fold(text)) and not any(ch.isdigit() for ch in text) and "@" not in text:
        return ParseResult(True, None, "—")
    if kind == "money":
        result = parse_money(text)
    elif kind == "email":
        result = parse_email(text)
    elif kind == "phone":
        result = parse_phone(text)
    elif kind == "url":
        result = parse_url(text, required=not optional)
    elif kind == "consent":
        result = parse_consent(text)
    elif kind in ("choice", "multichoice"):
        result = parse_choice(question, text, multi=kind == "multichoice")
    elif kind == "number":
        result = parse_number(question, text)
    else:
        result = parse_text(question, text)
    if result.ok and isinstance(result.value, (int, float)) and not isinstance(result.value, bool):
        v = question.get("validation") or {}
        if "min" in v and result.value < v["min"]:
            return _fail(f"Debe ser al menos {v['min']}.")
        if "max" in v and result.value > v["max"]:
            return _fail(f"Debe ser como mucho {v['max']}.")
    return result


# --- several fields in one message, and corrections --------------------------------


def extract_fields(flow: dict, text: str, *, expected_field: str, answered: dict) -> dict[str, ParseResult]:
    """The answer to the expected question, plus fields the lead volunteered:
    «Soy Ana, de Panadería Sol» answers `name` and `company` at once."""
    questions = {q["field"]: q for q in flow.get("questions", [])}
    results: dict[str, ParseResult] = {}
    expected = questions.get(expected_field)
    if expected is not None:
        results[expected_field] = parse_answer(expected, text)
    volunteered = {
        "name": lambda: _volunteered(_NAME_PATTERNS, text, _title),
        "company": lambda: _volunteered(_COMPANY_PATTERNS, text, lambda s: s.strip()),
        "email": lambda: parse_email(text) if _EMAIL_FIND.search(text) else None,
        "phone": lambda: parse_phone(text) if _PHONE_FIND.search(text) and expected_field != "budget_monthly" else None,
        "website": lambda: parse_url(text, required=True) if re.search(r"https?://|www\.", text, re.I) else None,
    }
    for field_name, finder in volunteered.items():
        if field_name == expected_field or field_name not in questions or field_name in answered:
            continue
        result = finder()
        if result is not None and result.ok and result.value:
            results[field_name] = result
    return results


def _volunteered(patterns, text: str, tidy) -> ParseResult | None:
    for pattern in patterns:
        m = pattern.search(text or "")
        if m:
            value = tidy(m.group(1).strip(" .,!¡"))
            if len(value) >= 2:
                return ParseResult(True, value, value)
    return None


_CORRECTION = re.compile(r"\b(en realidad|perdona|perdon|me equivoque|corrijo|rectifico|mejor dicho|quise decir|quiero cambiar|cambia|cambiar)\b")
_FIELD_WORDS = {
    "budget_monthly": ("presupuesto", "budget", "inversion"),
    "email": ("email", "correo", "e-mail", "mail"),
    "phone": ("telefono", "movil", "numero"),
    "sector": ("sector", "dedico", "actividad"),
    "company": ("empresa", "negocio", "compania"),
    "name": ("nombre", "me llamo"),
    "website": ("web", "pagina"),
    "timeline": ("empezar", "plazo", "cuando"),
    "goals": ("objetivo", "objetivos"),
    "channels": ("canales", "canal"),
    "audience": ("cliente ideal", "publico"),
    "platform": ("plataforma",),
}


def detect_correction(flow: dict, text: str, answered: dict) -> tuple[str, ParseResult] | None:
    """«En realidad mi presupuesto es 3.000 €» → ("budget_monthly", 3000)."""
    t = fold(text)
    if not _CORRECTION.search(t):
        return None
    questions = {q["field"]: q for q in flow.get("questions", [])}
    for field_name, words in _FIELD_WORDS.items():
        if field_name in questions and any(re.search(r"\b" + re.escape(w) + r"\b", t) for w in words):
            tail = re.split(r"\b(?:es|son|sera|seria|a|por)\b", text, maxsplit=1)
            candidate = tail[1] if len(tail) > 1 and questions[field_name]["type"] in ("text",) else text
            result = parse_answer(questions[field_name], candidate)
            if result.ok:
                return field_name, result
    return None
