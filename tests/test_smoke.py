def test_ready(app):
    response = app.get("/health/ready")
    assert response.json["checks"]["database"]["status"] == "up"
    assert response.json["checks"]["cache"]["status"] == "up"
