import type { Metadata } from "next";
import { Suspense } from "react";
import { LoadingState } from "../../components/state-views";
import { RoutersView } from "./routers-view";

export const metadata: Metadata = { title: "Routers" };

export default function RoutersPage() {
  return (
    <Suspense fallback={<LoadingState />}>
      <RoutersView />
    </Suspense>
  );
}
