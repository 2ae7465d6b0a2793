"""What 1.0.0 left behind, in one file, so that it can all be deleted one day.

1.0.0 kept no ledger. It deleted every server it made on Delete, so a server with no record
is deleted as it would have been; but it kept what an adopted server held before in its answers
table (`adoption|{stack}|{logical id}|{server}`), and a Delete must give such a server back. A
Delete that may concern one moves its record into the ledger first.
"""

from __future__ import annotations

import datetime
import json
import logging
from collections.abc import Callable
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from .aws import OutOfTime, Tables
from .contract import ResourceServer, Scope, ServerId
from .failure import RequestFailed
from .ledger import Ledger, failure
from .ownership import Owner, Record, State

logger = logging.getLogger(__name__)

# 1.0.0 kept what an adopted server held in the answers table, under this prefix.
PREFIX = "adoption"
MARGIN_S = 3600
# The ledger's record of the upgrade from 1.0.0: a key no server has (a server's is {pool}|{identifier}).
UPGRADE_KEY = {"server": {"S": "#upgraded-from-1.0.0"}}


class Legacy:
    def __init__(self, answers_table: str | None, ledger: Ledger, shared: Tables) -> None:
        self.answers_table = answers_table  # 1.0.0's answers table, where its adoption records live
        self._ledger = ledger
        self._client = shared.client

    def migrate(self, owner: Owner, server_id: ServerId, expected: Record | None) -> Record | None:
        """1.0.0's record of an adoption of the server by `owner`, moved into the ledger; None when
        1.0.0 adopted nothing. Raises RequestFailed when that can't be known."""
        adopted = self._adoption(owner, server_id)
        if adopted is None:
            if not self._complete():
                raise RequestFailed(
                    f"No record of {server_id.identifier:.60} in the provider's ledger, and AdoptExisting is "
                    '"true": it may have been adopted, so it was not deleted. Check the LedgerTable; to keep the '
                    'server, delete with --retain-resources; to delete it, set AdoptExisting "false" first'
                )
            return None
        ledger = self._ledger
        migrated = ledger.claim(
            server_id,
            expected,
            state=State.ADOPTED,
            owner=owner,
            request_id=adopted.request_id,
            issued_at=None,
            origin="1.0.0",
            prior=adopted.prior,
            operation=adopted.operation,
        )
        migrated = ledger.settle(migrated, State.ADOPTED)
        self._forget(owner, server_id)
        logger.info("Moved 1.0.0's adoption record into the ledger", extra={"server": str(server_id)})
        return migrated

    def _adoption(self, owner: Owner, server_id: ServerId) -> Record | None:
        """What 1.0.0 recorded of an adoption by `owner`, as a record of this ledger; None if nothing."""
        if self.answers_table is None:
            return None
        key, table = self._key(owner, server_id), self.answers_table
        found = self._call(
            "read 1.0.0's adoption record", lambda c: c.get_item(TableName=table, Key=key, ConsistentRead=True)
        )
        item = found.get("Item")
        if not item:
            return None
        scopes = tuple(Scope(n, d) for n, d in json.loads(item["scopes"]["S"]))
        prior = ResourceServer(server_id.user_pool_id, server_id.identifier, item["name"]["S"], scopes)
        request_id, operation = item["request_id"]["S"], item["operation"]["S"]
        return Record(server_id, State.ADOPTED, owner, "1.0.0", request_id, None, 0, prior, operation)

    def _complete(self) -> bool:
        """Whether every adoption 1.0.0 made is on record in the answers table: it is 1.0.0's own,
        kept beside the ledger its upgrade made. Known once, then kept in the ledger, naming that
        answers table (a reinstall's new one is not it); a restore of the ledger keeps the record.
        A restored ledger without it can't tell: it is newer than every table, whatever it holds."""
        if self.answers_table is None:
            return False
        answers = self._described(self.answers_table)
        kept = self._call(
            "read the ledger's record of the upgrade",
            lambda c: c.get_item(TableName=self._ledger.table_name, Key=UPGRADE_KEY, ConsistentRead=True),
        ).get("Item")
        if kept is not None:
            return bool(kept.get("answers", {}).get("S") == str(answers["CreationDateTime"]))
        ledger = self._described(self._ledger.table_name)
        if "RestoreSummary" in ledger:
            return False
        # A fresh install makes both tables within seconds; the upgrade from 1.0.0 made the ledger long after.
        if not answers["CreationDateTime"] + datetime.timedelta(seconds=MARGIN_S) < ledger["CreationDateTime"]:
            return False
        self._keep_upgrade(str(answers["CreationDateTime"]))
        return True

    def _keep_upgrade(self, answers_table: str) -> None:
        item = {**UPGRADE_KEY, "answers": {"S": answers_table}}
        try:
            self._client.put_item(
                TableName=self._ledger.table_name,
                Item=item,
                ConditionExpression="attribute_not_exists(#server)",
                ExpressionAttributeNames={"#server": "server"},
            )
        except (ClientError, BotoCoreError, OutOfTime) as error:
            # Kept by another request meanwhile, or to be kept by the next: this one's answer stands.
            logger.info("The upgrade from 1.0.0 was not recorded now", extra={"error": type(error).__name__})

    def _described(self, table: str) -> Any:
        return self._call("describe the provider's tables", lambda c: c.describe_table(TableName=table))["Table"]

    def _forget(self, owner: Owner, server_id: ServerId) -> None:
        if self.answers_table is None:
            return
        try:
            self._client.delete_item(TableName=self.answers_table, Key=self._key(owner, server_id))
        except (ClientError, BotoCoreError, OutOfTime) as error:
            # Harmless: the ledger's record is what is read from now on.
            logger.warning("1.0.0's adoption record not removed", extra={"error": type(error).__name__})

    @staticmethod
    def _key(owner: Owner, server_id: ServerId) -> dict[str, Any]:
        return {"id": {"S": f"{PREFIX}|{owner.stack_id}|{owner.logical_id}|{server_id}"}}

    def _call(self, what: str, call: Callable[[Any], Any]) -> Any:
        try:
            return call(self._client)
        except (ClientError, BotoCoreError, OutOfTime) as error:
            raise failure(what, error) from error
