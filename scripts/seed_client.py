"""The seed design's Python client, unchanged in spirit: plain grpcio against the front door.

Usage: seed_client.py STUBS_DIR ADDRESS
Prints one JSON object with what each call returned, for the test to check.
"""
import json
import sys

sys.path.insert(0, sys.argv[1])

import grpc  # noqa: E402
from agentplatform.v1 import platform_pb2 as pb  # noqa: E402
from agentplatform.v1 import platform_pb2_grpc as rpc  # noqa: E402

channel = grpc.insecure_channel(sys.argv[2])
agents = rpc.AgentServiceStub(channel)
result = {}

response = agents.ExecuteTask(
    pb.TaskRequest(task_id="task-123", agent_id="echo-agent", input="Hello, World!"), timeout=10
)
result["execute"] = {"task_id": response.task_id, "output": response.output, "success": response.success}

listing = agents.ListAgents(pb.ListAgentsRequest(), timeout=10)
result["agents"] = [
    {"agent_id": a.agent_id, "name": a.name, "capabilities": list(a.capabilities)} for a in listing.agents
]

try:
    agents.ExecuteTask(pb.TaskRequest(agent_id="no-such-agent", input="x"), timeout=10)
    result["unknown"] = {"code": "OK"}
except grpc.RpcError as err:
    result["unknown"] = {"code": err.code().name, "details": err.details()}

streamed = [m.output for m in agents.StreamTask(pb.TaskRequest(agent_id="echo-agent", input="a b c"), timeout=20)]
result["stream"] = streamed

# The dial-in agent has no listener: the call reaches it over the stream it opened to a router.
linked = agents.ExecuteTask(
    pb.TaskRequest(agent_id="nat-agent", input="behind nat", parameters={"mode": "uppercase"}), timeout=10
)
result["dial_in"] = {"output": linked.output, "success": linked.success}

print(json.dumps(result))
