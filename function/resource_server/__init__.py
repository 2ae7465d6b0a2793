"""The Custom::CognitoResourceServer provider, laid out in the order a request's data flows:

1. event -> 2. contract -> 3. plan, asking 3b. ownership, kept in 3c. the ledger (and legacy,
what 1.0.0 left) -> 4. cognito, reading the stack where the ledger can't answer -> 5. outputs
-> 6. delivery

Around them: provider.py wires them, once per execution environment, and begins each request;
app.py guards it, and startup.py answers when it can't start; responder.py is crhelper with its
flaws patched; replay.py answers a repeated delivery as the first was answered; aws.py makes
every client, budget.py bounds every call by the request's time, pacing.py paces throttled
writes; failure.py says why a request failed.

Values are NamedTuples, not dataclasses: a dataclass compiles its methods when its module loads,
about 0.35 ms each, which put the cold start 1.14x its floor (`make bench`, figure 1).
"""

# The provider's version: CHANGELOG.md, template.yaml's AWS::ServerlessRepo::Application metadata
# and `make release` follow it (tests/unit/test_release.py), and Cognito sees it in the user agent.
__version__ = "2.0.0"
