//! A route: one served API as a value, made by the [`route!`] line in the table of
//! `handlers/mod.rs`. The request type names the API key and the response type; the route
//! adds the versions served and the handler. From the table come ApiVersions, the version
//! check, decoding and dispatch, so adding an API is its handler file plus one line.
//!
//! A route's `serve` is a plain function pointer: decode the body as the route's request type
//! at the request's version, run the handler, encode its response at that version. The
//! future is boxed (one small allocation per request) so one table can hold every API.

use std::future::Future;

use bytes::{Bytes, BytesMut};
use futures_util::future::BoxFuture;
use kafka_protocol::protocol::{Decodable, Message, Request};

use super::RequestContext;
use crate::protocol::{decode_body, encode_response, ProtocolError};

/// What serving a request gives: the encoded response with its length prefix, `None` when
/// the request takes no response (produce with acks=0), or why the connection must close.
pub type Served = Result<Option<BytesMut>, ProtocolError>;

/// Serves one request body with the context of its header.
pub type Serve = for<'a> fn(&'a RequestContext<'a>, Bytes) -> BoxFuture<'a, Served>;

/// One served API. Build it with [`route!`].
#[derive(Debug)]
pub struct Route {
    key: i16,
    min_version: i16,
    max_version: i16,
    decode: fn(Bytes, i16) -> Result<(), ProtocolError>,
    serve: Serve,
}

impl Route {
    /// A route for request type `R` at versions `min..=max`.
    ///
    /// Evaluated at compile time (the table is a `const`), where the assertion makes a range
    /// that kafka-protocol cannot decode a build error rather than a runtime surprise.
    pub const fn new<R: Request>(min: i16, max: i16, serve: Serve) -> Route {
        let (request, response) = (R::VERSIONS, <R::Response as Message>::VERSIONS);
        assert!(
            request.min <= min && min <= max && max <= request.max,
            "a route's versions must be ones the kafka-protocol crate can decode"
        );
        assert!(
            response.min <= min && max <= response.max,
            "a route's versions must be ones the kafka-protocol crate can encode answers for"
        );
        Route {
            key: R::KEY,
            min_version: min,
            max_version: max,
            decode: decode_only::<R>,
            serve,
        }
    }

    /// The API key.
    pub fn api_key(&self) -> i16 {
        self.key
    }

    /// The lowest and highest version served.
    pub fn versions(&self) -> (i16, i16) {
        (self.min_version, self.max_version)
    }

    /// Decodes a body as this route's request type without serving it (fuzzing, tests).
    ///
    /// # Errors
    /// [`ProtocolError::Malformed`] when it does not decode.
    pub fn decode_body(&self, body: Bytes, version: i16) -> Result<(), ProtocolError> {
        (self.decode)(body, version)
    }

    /// Decodes `body` at the context's version, runs the handler, encodes the response.
    pub(super) fn serve<'a>(
        &self,
        ctx: &'a RequestContext<'a>,
        body: Bytes,
    ) -> BoxFuture<'a, Served> {
        (self.serve)(ctx, body)
    }
}

fn decode_only<R: Decodable>(body: Bytes, version: i16) -> Result<(), ProtocolError> {
    decode_body::<R>(body, version).map(drop)
}

/// The body of every route's `serve`: the handler's argument and return types tie it to `R`,
/// so a handler registered with the wrong request type does not compile.
pub async fn serve_with<'a, R, F, Fut>(
    ctx: &'a RequestContext<'a>,
    body: Bytes,
    handler: F,
    respond_if: fn(&R) -> bool,
) -> Served
where
    R: Request,
    F: FnOnce(&'a RequestContext<'a>, R) -> Fut,
    Fut: Future<Output = R::Response>,
{
    let req: R = decode_body(body, ctx.version)?;
    let respond = respond_if(&req);
    let resp = handler(ctx, req).await;
    if !respond {
        return Ok(None);
    }
    encode_response(ctx.version, ctx.correlation_id, &resp).map(Some)
}

/// One line of the route table:
/// `route!(RequestType, min..=max, async|sync module::handler)`, optionally followed by
/// `, respond_if predicate` for a request that may take no response. `async` handlers are
/// awaited; `sync` ones are plain functions.
macro_rules! route {
    ($request:ty, $min:literal ..= $max:literal, async $handler:path $(, respond_if $pred:path)?) => {
        $crate::handlers::route::Route::new::<$request>($min, $max, {
            fn serve<'a>(
                ctx: &'a $crate::handlers::RequestContext<'a>,
                body: ::bytes::Bytes,
            ) -> ::futures_util::future::BoxFuture<'a, $crate::handlers::route::Served> {
                Box::pin($crate::handlers::route::serve_with::<$request, _, _>(
                    ctx,
                    body,
                    $handler,
                    $crate::handlers::route::route!(@respond_if $($pred)?),
                ))
            }
            serve
        })
    };
    ($request:ty, $min:literal ..= $max:literal, sync $handler:path $(, respond_if $pred:path)?) => {
        $crate::handlers::route::Route::new::<$request>($min, $max, {
            fn serve<'a>(
                ctx: &'a $crate::handlers::RequestContext<'a>,
                body: ::bytes::Bytes,
            ) -> ::futures_util::future::BoxFuture<'a, $crate::handlers::route::Served> {
                Box::pin($crate::handlers::route::serve_with::<$request, _, _>(
                    ctx,
                    body,
                    |ctx, req| ::std::future::ready($handler(ctx, req)),
                    $crate::handlers::route::route!(@respond_if $($pred)?),
                ))
            }
            serve
        })
    };
    (@respond_if) => { |_| true };
    (@respond_if $pred:path) => { $pred };
}

pub(crate) use route;
