"""Check characters, generation and validation of Chinese enterprise and person identifiers."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from riskdraw.domain import codes
from riskdraw.domain.codes import (
    USCC_CHARSET,
    USCC_WEIGHTS,
    is_valid_org_code,
    is_valid_regno,
    is_valid_resident_id,
    is_valid_uscc,
    make_regnos,
    make_resident_ids,
    make_usccs,
    org_code_check_char,
    org_code_of_uscc,
    regno_check_digit,
    resident_id_check_char,
    uscc_check_char,
    valid_org_code_mask,
    valid_regno_mask,
    valid_resident_id_mask,
    valid_uscc_mask,
)

# Published codes of large enterprises, quoted from memory; that both check characters of
# every one agree (chance ~1/341 each) confirms the algorithms and the recollection together.
PUBLISHED_USCCS = [
    "914403001922038216",  # Huawei Technologies, Shenzhen
    "91440300708461136T",  # Tencent, Shenzhen
    "91440606722473344C",  # Midea Group, Shunde (Foshan)
    "91330100799655058B",
    "91440000190352575W",
]
# Old registration numbers of Huawei and Tencent (MOD 11,10: chance 1/10 each).
PUBLISHED_REGNOS = ["440301103097413", "440301103448669"]

FOSHAN = np.array(["440604", "440605", "440606", "440607", "440608"])


def test_charset_and_weights_follow_gb32100() -> None:
    assert len(USCC_CHARSET) == 31 and not set("IOSVZ") & set(USCC_CHARSET)
    assert tuple(pow(3, i, 31) for i in range(17)) == USCC_WEIGHTS


@pytest.mark.parametrize("code", PUBLISHED_USCCS)
def test_published_credit_codes_are_valid(code: str) -> None:
    assert uscc_check_char(code[:17]) == code[17]
    assert org_code_check_char(code[8:16]) == code[16]
    assert is_valid_uscc(code)
    assert is_valid_org_code(org_code_of_uscc(code))


@pytest.mark.parametrize(
    ("code", "why"),
    [
        ("914403001922038217", "wrong GB 32100 check character"),
        ("91440604MA4UABC15T", "GB 32100 check right, embedded org check '5' should be '0'"),
        ("91440604MA4UABC10b", "lower-case check character"),
        ("91440604MA4UABC10", "17 characters"),
        ("91440604MA4UABC10BX", "19 characters"),
        (" 91440604MA4UABC10B", "leading space"),
        ("91440604MA4UABI10B", "I is not in the charset"),
        ("94440604MA4UABC10B", "organisation type 4 does not exist"),
        ("B1440604MA4UABC10B", "B is not a registration authority"),
        ("914406A4MA4UABC10B", "letter in the division code"),
        ("９1440604MA4UABC10B", "full-width digit"),
        ("", "empty"),
    ],
)
def test_malformed_credit_codes_are_rejected(code: str, why: str) -> None:
    assert not is_valid_uscc(code), why
    assert not valid_uscc_mask(pd.Series([code]))[0], why


def test_constructed_credit_code_round_trips() -> None:
    body17 = "91440604" + "MA4UABC1" + org_code_check_char("MA4UABC1")
    code = body17 + uscc_check_char(body17)
    assert code == "91440604MA4UABC10B"
    assert is_valid_uscc(code)
    assert org_code_of_uscc(code) == "MA4UABC10"


@pytest.mark.parametrize(
    ("func", "body", "match"),
    [
        (uscc_check_char, "91440604MA4UABI10", "invalid character 'I' at position 15"),
        (uscc_check_char, "9144060", "must have 17 characters"),
        (org_code_check_char, "1922038a", "invalid character 'a' at position 8"),
        (regno_check_digit, "44030110309741X", "must have 14 characters"),
        (regno_check_digit, "4403011030974X", "invalid character 'X' at position 14"),
        (resident_id_check_char, "1101051949123100X", "invalid character 'X' at position 17"),
    ],
)
def test_check_functions_name_the_bad_character(func, body: str, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        func(body)


def test_check_functions_reject_non_strings() -> None:
    with pytest.raises(TypeError, match="must be a str"):
        uscc_check_char(91440604)


@pytest.mark.parametrize(
    ("code", "valid"),
    [
        ("19220382-1", True),
        ("192203821", True),
        ("19220382-2", False),
        ("10000018-X", True),  # check value 10 -> 'X'
        ("10000018-x", False),
        ("100000040", True),  # check value 11 -> '0'
        ("10000004-0", True),
        ("1000000-40", False),
        ("19220382--1", False),
        ("I9220382-1", False),
        ("", False),
    ],
)
def test_org_code_validation(code: str, valid: bool) -> None:
    assert is_valid_org_code(code) is valid
    assert valid_org_code_mask(pd.Series([code]))[0] == valid


@pytest.mark.parametrize("code", PUBLISHED_REGNOS)
def test_published_registration_numbers_are_valid(code: str) -> None:
    assert regno_check_digit(code[:14]) == code[14]
    assert is_valid_regno(code)


@pytest.mark.parametrize("oib", ["69435151530", "94577403194"])
def test_mod_11_10_matches_croatian_oib_examples(oib: str) -> None:
    """Croatia's OIB uses the same ISO 7064 MOD 11,10; these are its published examples."""
    digits = np.array([[int(c) for c in oib[:10]]])
    assert codes._mod11_10(digits)[0] == int(oib[10])


@pytest.mark.parametrize(
    ("code", "valid"),
    [
        ("440301103097413", True),
        ("440301103097414", False),
        ("44030110309741", False),
        ("44030110309741３", False),
    ],
)
def test_regno_validation(code: str, valid: bool) -> None:
    assert is_valid_regno(code) is valid
    assert valid_regno_mask(pd.Series([code]))[0] == valid


@pytest.mark.parametrize(
    ("code", "valid"),
    [
        ("11010519491231002X", True),  # the example in GB 11643-1999
        ("440524188001010014", True),
        ("11010519491231002x", False),  # lower-case x
        ("110105194912310021", False),
        ("440604199002291237", False),  # right check, but 1990-02-29 does not exist
        ("440604199202291231", True),  # 1992 is a leap year
        ("440604194913010026", False),  # month 13
    ],
)
def test_resident_id_validation(code: str, valid: bool) -> None:
    assert is_valid_resident_id(code) is valid
    assert valid_resident_id_mask(pd.Series([code]))[0] == valid


def test_masks_treat_missing_and_non_strings_as_invalid() -> None:
    s = pd.Series([PUBLISHED_USCCS[0], None, np.nan, pd.NA, 914403001922038216, "x"], dtype=object)
    assert valid_uscc_mask(s).tolist() == [True, False, False, False, False, False]
    string_dtype = pd.Series([PUBLISHED_USCCS[1], None], dtype="string")
    assert valid_uscc_mask(string_dtype).tolist() == [True, False]
    assert valid_regno_mask(pd.Series([], dtype=object)).shape == (0,)


def test_masks_handle_non_ascii_and_long_strings() -> None:
    s = pd.Series(["佛山市美的集团有限公司有限公司有限", PUBLISHED_USCCS[0] + "中", "19220382-1中"])
    assert not valid_uscc_mask(s).any()
    assert not valid_org_code_mask(s).any()


def test_make_usccs_yields_valid_unique_codes() -> None:
    rng = np.random.default_rng(7)
    n = 100_000
    division = rng.choice(FOSHAN, n)
    org_type = rng.choice(np.array(["1", "2", "3"]), n)
    made = make_usccs(rng, division, org_type)

    assert made.dtype == object and len(made) == n
    assert valid_uscc_mask(pd.Series(made)).all()
    assert pd.Series(made).is_unique
    assert pd.Series(made).str[8:17].is_unique  # organisation codes are unique too
    assert all(is_valid_uscc(code) for code in made[:: n // 500])
    as_str = pd.Series(made)
    assert (as_str.str[2:8] == division).all()
    assert (as_str.str[1] == org_type).all()
    assert (as_str.str[0] == "9").all()
    assert as_str.str[8:10].eq("MA").mean() == pytest.approx(0.30, abs=0.01)
    old_style = as_str[as_str.str[8:10] != "MA"].str[8:16]
    assert old_style.str.count(r"\d").mean() / 8 == pytest.approx(0.9, abs=0.01)


def test_make_usccs_accepts_int_divisions_scalar_type_and_other_authority() -> None:
    rng = np.random.default_rng(0)
    made = make_usccs(rng, np.array([440604, 440606]), "9", registration_authority="N")
    assert [code[:8] for code in made] == ["N9440604", "N9440606"]
    assert valid_uscc_mask(pd.Series(made)).all()


def test_make_usccs_is_reproducible() -> None:
    first = make_usccs(np.random.default_rng(3), FOSHAN, "1")
    second = make_usccs(np.random.default_rng(3), FOSHAN, "1")
    assert first.tolist() == second.tolist()


@pytest.mark.parametrize(
    ("division", "org_type", "authority", "match"),
    [
        (np.array(["44060"]), "1", "9", "division_codes must be six digits"),
        (np.array(["4406041"]), "1", "9", "division_codes must be six digits"),
        (np.array([44060]), "1", "9", "six-digit integers"),
        (FOSHAN, "4", "9", "org_type must be one of"),
        (FOSHAN, "12", "9", "org_type must be one of"),
        (FOSHAN, "1", "Z", "registration_authority must be one of"),
    ],
)
def test_make_usccs_rejects_bad_input(division, org_type, authority: str, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        make_usccs(np.random.default_rng(0), division, org_type, authority)


def test_make_regnos_yields_valid_unique_numbers() -> None:
    rng = np.random.default_rng(11)
    division = rng.choice(FOSHAN, 100_000)
    made = make_regnos(rng, division)
    assert valid_regno_mask(pd.Series(made)).all()
    assert pd.Series(made).is_unique
    assert (pd.Series(made).str[:6] == division).all()
    assert all(is_valid_regno(code) for code in made[::200])


def test_make_resident_ids_encodes_birth_date_and_sex() -> None:
    rng = np.random.default_rng(5)
    n = 50_000
    birth = np.datetime64("1940-01-01") + rng.integers(0, 30_000, n).astype("timedelta64[D]")
    female = rng.random(n) < 0.5
    made = make_resident_ids(rng, n, "440605", birth, female)

    s = pd.Series(made)
    assert valid_resident_id_mask(s).all()
    assert all(is_valid_resident_id(code) for code in made[::100])
    assert (s.str[:6] == "440605").all()
    assert (s.str[6:14] == pd.Series(birth).dt.strftime("%Y%m%d")).all()
    assert ((s.str[16].astype(int) % 2 == 0) == female).all()
    assert s.is_unique


def test_make_resident_ids_rejects_missing_birth_dates() -> None:
    birth = np.array(["1990-01-01", "NaT"], dtype="datetime64[D]")
    with pytest.raises(ValueError, match="NaT"):
        make_resident_ids(np.random.default_rng(0), 2, "440604", birth, False)


def test_org_code_of_uscc_rejects_wrong_length() -> None:
    with pytest.raises(ValueError, match="18 characters"):
        org_code_of_uscc("19220382-1")


# ---------------------------------------------------------------------------------------------
# hostile characters: the vectorised masks agree with the scalar checks on any string

# NUL (also the padding of numpy's fixed-width strings), other C0 and C1 controls, DEL, the
# replacement character, lone surrogates, combining marks, invisible format characters,
# characters above 255 (the masks clip them to 255), characters whose case mapping or NFKC
# form is longer or ASCII (ß, ﬀ, İ, Ⅰ, ①, full-width), and digits of other scripts.
HOSTILE = (
    "\x00\x01\t\n\r\x1b\x1f\x7f\x80\x85\x9f\xa0\xad\xff\u0100\u0130\u01ff\u0301\u0660"
    "\u200b\u200e\u202e\u2066\u2160\u2460\u3000\ufeff\ufb00\uff10\uff21\ufffd\ud800\udfff"
    "\U0001f600\U000e0041 -Xxß中"
)

KINDS = {
    "uscc": (
        valid_uscc_mask,
        is_valid_uscc,
        USCC_CHARSET,
        make_usccs(np.random.default_rng(21), FOSHAN, "1").tolist() + PUBLISHED_USCCS,
    ),
    "org_code": (
        valid_org_code_mask,
        is_valid_org_code,
        codes._ALNUM36 + "-",
        [c[8:17] for c in PUBLISHED_USCCS] + [c[8:16] + "-" + c[16] for c in PUBLISHED_USCCS],
    ),
    "regno": (
        valid_regno_mask,
        is_valid_regno,
        codes._DIGITS,
        make_regnos(np.random.default_rng(22), FOSHAN).tolist() + PUBLISHED_REGNOS,
    ),
    "resident_id": (
        valid_resident_id_mask,
        is_valid_resident_id,
        codes._DIGITS + "X",
        [
            *make_resident_ids(
                np.random.default_rng(23), 5, FOSHAN, np.datetime64("1980-02-29"), False
            ),
            "11010519491231002X",
        ],
    ),
}


@st.composite
def _near_valid(draw, valid: list[str], alphabet: str) -> str:
    """A valid code with one character inserted, deleted or replaced, or something appended."""
    code = draw(st.sampled_from(valid))
    edit = draw(st.sampled_from(["insert", "delete", "replace", "append"]))
    at = draw(st.integers(0, len(code) - (edit != "insert")))
    ch = draw(st.sampled_from(alphabet))
    if edit == "insert":
        return code[:at] + ch + code[at:]
    if edit == "delete":
        return code[:at] + code[at + 1 :]
    if edit == "replace":
        return code[:at] + ch + code[at + 1 :]
    return code + draw(st.text(st.sampled_from(alphabet), min_size=1, max_size=3))


def _strings(kind: str) -> st.SearchStrategy[str]:
    """Random strings over the kind's charset and the hostile characters, near-valid codes."""
    _, _, charset, valid = KINDS[kind]
    alphabet = charset + HOSTILE
    return st.one_of(
        st.sampled_from(valid),
        _near_valid(valid, alphabet),
        st.text(st.sampled_from(alphabet), min_size=0, max_size=22),
    )


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    "suffix", ["\x00", "\x00X", "\x00\x00", "\x00" * 5 + "中", "\x000", "\x00\x00\x00\x00\x00"]
)
def test_a_valid_code_padded_with_nul_is_invalid(kind: str, suffix: str) -> None:
    mask, scalar, _, valid = KINDS[kind]
    for text in (valid[0] + suffix, suffix + valid[0], valid[0][:-1] + suffix + valid[0][-1]):
        assert not scalar(text)
        assert not mask(pd.Series([text], dtype=object))[0], repr(text)


@pytest.mark.parametrize("kind", KINDS)
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_the_mask_agrees_with_the_scalar_check_on_any_string(kind: str, data) -> None:
    mask, scalar, charset, _ = KINDS[kind]
    texts = data.draw(st.lists(_strings(kind), min_size=1, max_size=20))
    got = mask(pd.Series(texts, dtype=object))
    assert got.tolist() == [scalar(t) for t in texts], [repr(t) for t in texts]
    foreign = np.array([any(c not in charset for c in t) for t in texts])
    assert not got[foreign].any()


@pytest.mark.parametrize("kind", KINDS)
@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_a_control_character_in_a_valid_code_makes_it_invalid(kind: str, data) -> None:
    mask, scalar, _, valid = KINDS[kind]
    controls = [chr(c) for c in [*range(0x20), *range(0x7F, 0xA0)]]
    plain = [v for v in valid if "-" not in v]  # deleting the hyphen leaves a valid code
    text = data.draw(_near_valid(plain, "".join(controls)))
    assert not scalar(text)
    assert not mask(pd.Series([text], dtype=object))[0], repr(text)


@pytest.mark.parametrize("kind", KINDS)
def test_every_valid_example_is_valid(kind: str) -> None:
    mask, scalar, _, valid = KINDS[kind]
    assert all(scalar(v) for v in valid)
    assert mask(pd.Series(valid, dtype=object)).all()


def test_org_code_mask_can_refuse_the_written_form() -> None:
    s = pd.Series(["19220382-1", "192203821", "19220382X1"])
    assert valid_org_code_mask(s).tolist() == [True, True, False]
    assert valid_org_code_mask(s, hyphen=False).tolist() == [False, True, False]
