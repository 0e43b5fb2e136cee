<?php
// A JSON endpoint: echoes the query and the JSON body it was sent; 400 for a body that is not JSON.
header('Content-Type: application/json');
$body = file_get_contents('php://input');
$data = $body === '' ? null : json_decode($body, true);
if ($body !== '' && $data === null) {
    http_response_code(400);
    echo json_encode(['error' => 'the body is not JSON']);
    exit;
}
echo json_encode(['method' => $_SERVER['REQUEST_METHOD'], 'query' => $_GET, 'body' => $data]);
