"""moto's CloudFormation, taught what the provider reads of the stacks the tests' model of
CloudFormation plays (stack_operations.py), which moto's own custom resources can't:

- `DescribeStackResource` answers for the resources the model holds (`set_stack_resource`);
- a stack's status and stack-level events follow the model's operations (`set_stack_status`),
  at a chosen time on CloudFormation's clock;
- a parent stack's events list its nested stacks' too (`add_nested_stack_event`), and old events
  can be forgotten, as a stack's list reads years on.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from moto.cloudformation.exceptions import ValidationError
from moto.cloudformation.models import CloudFormationBackend, Event, cloudformation_backends
from moto.core import DEFAULT_ACCOUNT_ID

REGION = "us-east-1"  # every test's Region
# A stack moto accepts; custom resources live in the tests' own model of CloudFormation.
PLACEHOLDER_TEMPLATE = '{"Resources": {"Topic": {"Type": "AWS::SNS::Topic"}}}'


def install() -> None:
    """Patch moto's CloudFormation in this process. Safe to call again."""
    backend: Any = CloudFormationBackend
    backend.describe_stack_resource = _describe_model_resource


@dataclass
class ModelResource:
    physical_id: str
    status: str


def set_stack_resource(
    stack_id: str, logical_id: str, physical_id: str | None, status: str = "CREATE_COMPLETE"
) -> None:
    """What DescribeStackResource says of a stack's resource; None: the stack lists it no more."""
    stack = cloudformation_backends[DEFAULT_ACCOUNT_ID][REGION].get_stack(stack_id)
    resources: dict[str, ModelResource] = stack.__dict__.setdefault("model_resources", {})
    if physical_id is None:
        resources.pop(logical_id, None)
    else:
        resources[logical_id] = ModelResource(physical_id, status)


def _describe_model_resource(self: CloudFormationBackend, stack_name: str, logical_resource_id: str) -> Any:
    stack = self.get_stack(stack_name)
    resource = stack.__dict__.get("model_resources", {}).get(logical_resource_id)
    if resource is None or stack.status == "DELETE_COMPLETE":
        raise ValidationError(stack_name, f"Resource {logical_resource_id} does not exist for stack {stack_name}")
    found = type("StackResource", (), {})()
    found.logical_resource_id = logical_resource_id
    found.physical_resource_id = resource.physical_id
    found.cf_resource_type = "Custom::CognitoResourceServer"
    return stack, found


def new_stack(name: str) -> str:
    """A stack in moto's CloudFormation, made in this process: its StackId."""
    backend = cloudformation_backends[DEFAULT_ACCOUNT_ID][REGION]
    return str(backend.create_stack(name=name, template=PLACEHOLDER_TEMPLATE, parameters={}).stack_id)


def set_stack_status(stack_id: str, status: str, at: datetime.datetime | None = None) -> None:
    """What DescribeStacks reports for a stack, and a stack-level event for it, as CloudFormation
    records each phase of an operation; `at` is the event's time on CloudFormation's clock."""
    stack = cloudformation_backends[DEFAULT_ACCOUNT_ID][REGION].get_stack(stack_id)
    stack.status = status
    stack._add_stack_event(status)
    if at is not None:
        stack.events[-1].timestamp = at


def forget_events_before_the_last_operation(stack_id: str) -> None:
    """As a stack's event list reads years on: the events before its last operation no longer listed."""
    stack = cloudformation_backends[DEFAULT_ACCOUNT_ID][REGION].get_stack(stack_id)
    starts = [
        at
        for at, event in enumerate(stack.events)
        if event.physical_resource_id == stack_id
        and event.resource_status in ("CREATE_IN_PROGRESS", "UPDATE_IN_PROGRESS")
    ]
    del stack.events[: starts[-1]]


def add_nested_stack_event(stack_id: str, logical_id: str, status: str, at: datetime.datetime | None = None) -> None:
    """An event of a nested stack, as its parent's DescribeStackEvents lists it: the same
    ResourceType as the parent's own, its own logical id, and its own ARN as PhysicalResourceId."""
    stack = cloudformation_backends[DEFAULT_ACCOUNT_ID][REGION].get_stack(stack_id)
    nested_arn = stack_id.replace(f"stack/{stack.name}/", f"stack/{stack.name}-{logical_id}-NESTED/")
    event = Event(
        stack_id=stack_id,
        stack_name=stack.name,
        logical_resource_id=logical_id,
        physical_resource_id=nested_arn,
        resource_type="AWS::CloudFormation::Stack",
        resource_status=status,
        resource_status_reason=None,
        resource_properties=None,
    )
    if at is not None:
        event.timestamp = at
    stack.events.append(event)
