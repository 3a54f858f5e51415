"""The password guard's arithmetic on a clock the test moves: per client, per session, and a flood limit that ten
guesses can never trigger."""
from core.studio.access import FLOOD_FAILURES, FREE_ATTEMPTS, AccessGuard

RIGHT = "s3nha-da-equipe"


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def guesses_in_a_minute(guard, clock, client, new_session_each_time=False) -> int:
    """Wrong guesses one attacker gets through in 60 s, trying again as soon as the guard allows."""
    made, start = 0, clock.now
    session = "attacker"
    while clock.now - start < 60:
        if new_session_each_time:
            session = f"attacker-{made}"
        verdict = guard.attempt(f"guess-{made}", RIGHT, client, session)
        if verdict.waiting:
            clock.now += verdict.wait_s
        else:
            made += 1
            clock.now += 0.1
    return made


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


def test_a_flood_from_many_addresses_slows_everyone_briefly():
    clock = Clock()
    guard = AccessGuard(clock)
    for i in range(FLOOD_FAILURES):
        guard.attempt("x", RIGHT, f"10.0.{i // 250}.{i % 250}", f"s{i}")
    assert guard.attempt(RIGHT, RIGHT, "198.51.100.20", "teammate").waiting
    clock.now += 31
    assert guard.attempt(RIGHT, RIGHT, "198.51.100.20", "teammate").allowed


def test_without_an_address_each_session_is_slowed_and_the_flood_limit_caps_the_rest():
    clock = Clock()
    guard = AccessGuard(clock)
    same_session = guesses_in_a_minute(guard, clock, None)
    clock.now += 3600
    new_sessions = guesses_in_a_minute(AccessGuard(clock), clock, None, new_session_each_time=True)
    print(f"no address: {same_session} guesses a minute in one session, {new_sessions} with a new session each")
    assert same_session <= FREE_ATTEMPTS + 4 and new_sessions <= FLOOD_FAILURES + 1


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
