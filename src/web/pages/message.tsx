/** A page with one message: errors, refusals, and confirmations that need nothing more. */
import type { JSX } from "hono/jsx/jsx-runtime";
import { Layout, type Viewer } from "../layout.tsx";

/** A message page's content. */
export interface MessageProps {
  title: string;
  message: string;
  viewer?: Viewer;
  csrf?: string;
  /** Shown so a person can quote it to the operator. */
  requestId?: string;
}

/** One message, with a way back. */
export function MessagePage(props: MessageProps): JSX.Element {
  return (
    <Layout title={props.title} viewer={props.viewer} csrf={props.csrf}>
      <h1>{props.title}</h1>
      <p>{props.message}</p>
      {props.requestId && (
        <p class="muted">
          Request id: <code>{props.requestId}</code>
        </p>
      )}
      <p>
        <a href={props.viewer ? "/account" : "/"}>Back</a>
      </p>
    </Layout>
  );
}
