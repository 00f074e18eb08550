// Runs the itinerary worker (worker-itinerary, client id "itinerary-worker") on GRPC_SERVER_PORT,
// default 50054, keeping its tasks in PostgreSQL when DATABASE_URL is set, else in
// WORKER_DATA_DIR (default .data/itinerary).
import { runService } from "../sdk";
import { itineraryWorker } from "./itinerary-worker";

runService(itineraryWorker, { defaultPort: 50054 });
