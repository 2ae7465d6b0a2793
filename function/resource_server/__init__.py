"""The Custom::CognitoResourceServer provider, laid out in the order its data flows:

event -> contract -> plan -> cognito -> outputs -> answer
"""

# The provider's version: CHANGELOG.md, template.yaml's AWS::ServerlessRepo::Application metadata
# and `make release` follow it (tests/unit/test_release.py), and Cognito sees it in the user agent.
__version__ = "2.0.0"
