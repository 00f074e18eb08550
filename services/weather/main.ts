// Runs the weather tool (tool-weather, client id "weather-tool") on GRPC_SERVER_PORT, default 50053.
// WEATHER_PROVIDER picks where answers come from ("climatology", the shipped normals, is the
// only provider today); WEATHER_DATA_PATH points at another normals file of the same format.
import { EnvReader } from "../../platform/config";
import { runService } from "../sdk";
import { defaultDatasetPath, loadClimateDataset } from "./climate-dataset";
import { createClimatologyProvider } from "./climatology-provider";
import { createWeatherTool } from "./weather-tool";

runService(
  () => {
    const env = new EnvReader();
    env.oneOf("WEATHER_PROVIDER", ["climatology"], "climatology");
    const dataPath = env.string("WEATHER_DATA_PATH", defaultDatasetPath);
    env.done("tool-weather");
    return createWeatherTool(createClimatologyProvider(loadClimateDataset(dataPath)));
  },
  { defaultPort: 50053 },
);
