/**
 * Imported first by main.ts: OpenTelemetry's instrumentations must patch http, graphql and pg before
 * anything requires them (src/tracing/otel.ts). Does nothing unless OTEL_EXPORTER_OTLP_*ENDPOINT is set.
 */
import { startOtel } from './otel';

startOtel();
