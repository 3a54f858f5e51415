"""The password guard's arithmetic on a clock the test moves: per client, per session, per known device, and a
shared budget against a flood that ten guesses never reach and a known device never waits for."""
from core.studio.access import FLOOD_BURST, FLOOD_REFILL_S, FREE_ATTEMPTS, AccessGuard

RIGHT = "s3nha-da-equipe"


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def guesses_within(seconds, guard, clock, address_of, session_of) -> int:
    """Wrong guesses an attacker gets checked in seconds, the n-th from address_of(n) in session_of(n), trying
    again as soon as the guard allows."""
    made, start = 0, clock.now
    while clock.now - start < seconds:
        verdict = guard.attempt(f"guess-{made}", RIGHT, address_of(made), session_of(made))
        if verdict.waiting:
            clock.now += verdict.wait_s
        else:
            made += 1
            clock.now += 0.1
    return made


def guesses_in_a_minute(guard, clock, client, new_session_each_time=False) -> int:
    """Wrong guesses one attacker gets through in 60 s, from one address, in one session or a new one each."""
    return guesses_within(60, guard, clock, lambda n: client,
                          (lambda n: f"attacker-{n}") if new_session_each_time else (lambda n: "attacker"))


def test_one_address_is_slowed_down_whatever_sessions_it_opens():
    clock = Clock()
    guard = AccessGuard(clock)
    made = guesses_in_a_minute(guard, clock, "203.0.113.7", new_session_each_time=True)
    print(f"one address, a new session per guess: {made} guesses in a minute")
    assert made <= FREE_ATTEMPTS + 4


def test_ten_wrong_guesses_never_lock_the_team_out():
    clock = Clock()
    guard = AccessGuard(clock)
    for i in range(10):
        guard.attempt(f"guess-{i}", RIGHT, "203.0.113.7", f"s{i}")
    assert guard.attempt(RIGHT, RIGHT, "198.51.100.20", "teammate").allowed  # another address: straight in
    assert guard.attempt(RIGHT, RIGHT, "203.0.113.7", "s0").waiting  # the guessing address waits
    clock.now += 3600
    assert guard.attempt(RIGHT, RIGHT, "203.0.113.7", "s0").allowed  # and gets in once its wait is over


def guesses_in_a_day(guard, clock, address_of) -> int:
    """Wrong guesses an attacker gets checked in 24 hours, each from address_of(n) in a new session."""
    return guesses_within(24 * 3600, guard, clock, address_of, lambda n: f"attacker-{n}")


def test_guesses_a_day_in_each_set_up_stay_within_what_the_docstring_promises():
    clock = Clock()
    one_address = guesses_in_a_day(AccessGuard(clock), clock, lambda n: "203.0.113.7")
    unknown = guesses_in_a_day(AccessGuard(clock), clock, lambda n: None)
    botnet = guesses_in_a_day(AccessGuard(clock), clock, lambda n: f"10.{n // 62500}.{n // 250 % 250}.{n % 250}")
    print(f"guesses a day: one address {one_address}, no address known {unknown}, a new address each {botnet}")
    assert one_address <= 110 and unknown <= 110
    assert botnet <= FLOOD_BURST + 24 * 3600 / FLOOD_REFILL_S + 1


def test_a_flood_never_makes_a_known_device_wait_and_a_stranger_waits_only_for_the_budget():
    clock = Clock()
    guard = AccessGuard(clock)
    for i in range(FLOOD_BURST):
        guard.attempt("x", RIGHT, f"10.0.{i // 250}.{i % 250}", f"s{i}")
    assert guard.attempt("wrong", RIGHT, "198.51.100.9", "stranger").waiting  # the budget is spent
    for typo in range(3):  # a teammate's browser that signed in before: typos and all, straight on
        assert not guard.attempt(f"typo-{typo}", RIGHT, None, "teammate", device="d1").waiting
    assert guard.attempt(RIGHT, RIGHT, None, "teammate", device="d1").allowed
    clock.now += FLOOD_REFILL_S
    assert guard.attempt(RIGHT, RIGHT, "198.51.100.20", "new-teammate").allowed  # a slot a refill later


def test_a_device_token_spends_its_own_count_not_the_shared_one():
    clock = Clock()
    guard = AccessGuard(clock)
    for i in range(FREE_ATTEMPTS):
        guard.attempt("x", RIGHT, None, f"s{i}", device="stolen")
    assert guard.attempt(RIGHT, RIGHT, None, "s9", device="stolen").waiting  # a device guessing waits too
    assert guard.attempt(RIGHT, RIGHT, None, "other").allowed  # and has not spent the others' count


def test_failures_are_forgotten_a_day_after_the_last():
    clock = Clock()
    guard = AccessGuard(clock)
    for i in range(FREE_ATTEMPTS - 1):
        guard.attempt("x", RIGHT, "a", f"s{i}")
    clock.now += 24 * 3600 + 1
    for i in range(FREE_ATTEMPTS - 1):
        assert not guard.attempt("x", RIGHT, "a", f"t{i}").waiting


def test_success_resets_the_count():
    clock = Clock()
    guard = AccessGuard(clock)
    for i in range(FREE_ATTEMPTS - 1):
        guard.attempt("x", RIGHT, "a", "s")
    assert guard.attempt(RIGHT, RIGHT, "a", "s").allowed
    for i in range(FREE_ATTEMPTS - 1):
        assert not guard.attempt("x", RIGHT, "a", "s").waiting


# -- sign-in tokens kept by the browser -------------------------------------------------------------------------
from core.studio.access import LOGIN_TTL_S, LoginTokens  # noqa: E402


def test_a_token_lets_its_teammate_back_in_for_a_working_day_and_no_longer(tmp_path):
    clock = [1_000_000.0]
    tokens = LoginTokens(tmp_path, clock=lambda: clock[0])
    token = tokens.issue("Ana Lúcia", "s3nha-da-equipe")
    assert "s3nha" not in token  # the password is never in the browser
    assert tokens.check(token, "s3nha-da-equipe").name == "Ana Lúcia"
    clock[0] += LOGIN_TTL_S - 1
    assert tokens.check(token, "s3nha-da-equipe") is not None
    clock[0] += 2
    assert tokens.check(token, "s3nha-da-equipe") is None


def test_forged_altered_or_foreign_tokens_are_refused(tmp_path):
    tokens = LoginTokens(tmp_path / "a")
    token = tokens.issue("Ana", "senha")
    body, signature = token.split(".")
    import base64
    import json
    forged = base64.urlsafe_b64encode(json.dumps({"name": "Chefe", "id": "x", "exp": 9e12}).encode()).decode()
    for bad in (f"{forged}.{signature}", f"{body}.{'0' * 64}", token + "x", "", None, "a.b.c", "é.é", "x" * 5000):
        assert tokens.check(bad, "senha") is None
    assert tokens.check(token, "outra senha") is None  # a new password signs everyone out
    assert LoginTokens(tmp_path / "b").check(token, "senha") is None  # another studio's key


def test_signing_out_revokes_that_token_only_and_every_process_sees_it(tmp_path):
    first, second = LoginTokens(tmp_path), LoginTokens(tmp_path)  # two servers on one data folder
    ana, bia = first.issue("Ana", "senha"), first.issue("Bia", "senha")
    assert second.check(ana, "senha").name == "Ana"  # the same key, read from the folder
    first.revoke(first.check(ana, "senha"))
    assert second.check(ana, "senha") is None and second.check(bia, "senha").name == "Bia"
    assert oct((tmp_path / "access.key").stat().st_mode & 0o777) == "0o600"
