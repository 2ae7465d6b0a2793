"""The Custom::CognitoResourceServer provider, laid out in the order its data flows:

1. event -> 2. contract -> 3. plan, asking 3b. ownership (the ledger) -> 4. cognito -> 5. outputs
-> 6. delivery

Around them: provider.py wires them (app.py guards it); startup.py answers when the provider
can't start; responder.py is crhelper with its flaws patched; replay.py answers a repeated
delivery as the first was answered; aws.py and pacing.py bound and pace every AWS call;
stack.py reads CloudFormation where the ledger can't answer.

Values are NamedTuples, not dataclasses: a dataclass compiles its methods when its module loads,
about 0.35 ms each, which put the cold start 1.14x its floor (`make bench`, figure 1).
"""

# The provider's version: CHANGELOG.md, template.yaml's AWS::ServerlessRepo::Application metadata
# and `make release` follow it (tests/unit/test_release.py), and Cognito sees it in the user agent.
__version__ = "2.0.0"
