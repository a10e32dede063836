from shared.core.money import yuan


def test_fen_read_as_yuan_with_two_decimals():
    assert [yuan(f) for f in (123_456, 150_000, 100, 5, 0)] == ["1234.56", "1500.00", "1.00", "0.05", "0.00"]


def test_a_negative_amount_keeps_its_sign_and_its_cents():
    # -5 fen is -0.05 yuan (floor division alone would write -1.95).
    assert [yuan(f) for f in (-5, -123_456)] == ["-0.05", "-1234.56"]
