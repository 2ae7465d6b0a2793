"""The drift check: every server the ledger says a stack holds, against what Cognito holds now.

CloudFormation's drift detection can't see into a Custom:: resource, but the ledger knows every
server each stack made or adopted, and what its last request applied. A schedule in the
provider's stack runs the check in the same function (app.py); an operator runs it with
`python -m resource_server.drift`. It reads only: repair stays CloudFormation's, by an Update.

compare.py says what differs for one server; check.py reads the ledger and each pool; report.py
tells it, in log lines, metrics and the returned report.
"""
