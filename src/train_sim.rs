//! placeholder
pub fn run(_w: &crate::world::MpiWorld, _a: &crate::predict_cmd::TrainSimArgs) -> anyhow::Result<i32> { todo!() }
