fn main() -> Result<(), Box<dyn std::error::Error>> {
    let telemetry = otlpkit::init()?;
    tracing::info_span!("work", answer = 42).in_scope(|| tracing::info!("hello"));
    println!("{}", telemetry.shutdown());
    Ok(())
}
