"""The context object the Lambda runtime passes: what the handler reads of it."""

from __future__ import annotations

import time
import uuid


class LambdaContext:
    function_name = "cognito-resource-server-provider-Function"
    function_version = "$LATEST"
    memory_limit_in_mb = 128
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:cognito-resource-server-provider-Function"
    log_group_name = "/aws/lambda/cognito-resource-server-provider-Function"
    log_stream_name = "2026/11/27/[$LATEST]0123456789abcdef"

    def __init__(self, timeout_s: float = 60.0) -> None:
        self.aws_request_id = str(uuid.uuid4())
        self._deadline = time.monotonic() + timeout_s

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))
