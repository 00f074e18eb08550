// Runs the echo agent (agent-echo, client id "echo-agent") on GRPC_SERVER_PORT, default 50052.
import { runService } from "../sdk";
import { echoAgent } from "./echo-agent";

runService(echoAgent, { defaultPort: 50052 });
