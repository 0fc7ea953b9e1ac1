"""What is near the hub, through the service facade, Rucio in memory."""


async def test_replicating_state_near_hub(service, fake_rucio):
    await service.stage(["demo:lofar-obs-sb002"], qos="FAST")
    info = await service.did_info("demo:lofar-obs-sb002")
    assert info["near_hub"]["state"] == "REPLICATING"
